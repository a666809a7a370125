// libFuzzer harness for the C kernels' argument checks (`make fuzz`).
//
// The input picks a kernel and every argument: dimensions, leading dimensions, element counts,
// NULL pointers, steps. Buffers are real and exactly as large as the count the input claims
// (at most 4,096 elements), so AddressSanitizer catches any read or write a kernel makes past
// what its checks allowed. The property: a kernel either refuses with a CK_E* status or computes
// within its buffers; it never crashes, whatever the arguments.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "ck_dense.h"
#include "ck_os.h"
#include "ck_extension.h"

/// Reads the input as a stream of fields; past the end every field is 0.
typedef struct { const uint8_t *data; size_t size; size_t at; } reader;

static uint64_t next(reader *r, int bytes) {
    uint64_t value = 0;
    for (int i = 0; i < bytes; i++) value = (value << 8) | (r->at < r->size ? r->data[r->at++] : 0);
    return value;
}

/// A dimension: mostly small, sometimes huge or "negative" ((size_t)-1), to reach every check.
static size_t dimension(reader *r) {
    uint8_t kind = (uint8_t)next(r, 1);
    switch (kind % 8) {
    case 0: return SIZE_MAX;                       // a -1 from a C caller
    case 1: return (size_t)next(r, 8);             // anything
    case 2: return (size_t)1 << (next(r, 1) % 64); // powers of two, up to overflow
    default: return (size_t)(next(r, 1) % 80);     // small
    }
}

static size_t claimed_count(reader *r) { return (size_t)(next(r, 2) % 4097); }

static double *buffer(size_t count) {
    double *p = malloc((count ? count : 1) * sizeof(double));
    for (size_t i = 0; i < count; i++) p[i] = (double)(i % 13) * 0.25;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    reader r = { data, size, 0 };
    uint8_t kernel = (uint8_t)next(&r, 1) % 5;
    uint8_t nulls = (uint8_t)next(&r, 1);  // bit k: pass NULL for buffer k

    if (kernel == 0 || kernel == 1) {
        size_t ar = dimension(&r), ac = dimension(&r), ald = dimension(&r), an = claimed_count(&r);
        size_t br = dimension(&r), bc = dimension(&r), bld = dimension(&r), bn = claimed_count(&r);
        size_t cr = dimension(&r), cc = dimension(&r), cld = dimension(&r), cn = claimed_count(&r);
        double *a = buffer(an), *b = buffer(bn), *c = buffer(cn);
        ck_const_dmatrix ma = { nulls & 1 ? NULL : a, an, ar, ac, ald };
        ck_const_dmatrix mb = { nulls & 2 ? NULL : b, bn, br, bc, bld };
        ck_dmatrix mc = { nulls & 4 ? NULL : c, cn, cr, cc, cld };
        if (kernel == 0) {
            (void)ck_dgemm(1.0, ma, mb, 0.5, mc);
        } else {
            (void)ck_stencil5(ma, mc);
        }
        free(a); free(b); free(c);
    } else if (kernel == 2) {
        size_t width = dimension(&r), row_begin = dimension(&r), rows = dimension(&r);
        size_t count = claimed_count(&r);
        uint32_t max_iter = (uint32_t)(next(&r, 1) % 40);
        double dx = (int8_t)next(&r, 1) / 64.0, dy = next(&r, 1) == 255 ? NAN : 0.01;
        uint32_t *out = malloc((count ? count : 1) * sizeof(uint32_t));
        (void)ck_mandelbrot(-2.0, -1.0, dx, dy, width, row_begin, rows, max_iter, nulls & 1 ? NULL : out, count);
        free(out);
    } else if (kernel == 3) {
        size_t count = claimed_count(&r);
        uint8_t *bytes = malloc(count ? count : 1);
        memset(bytes, 7, count);
        uint64_t hash = 0;
        (void)ck_fnv1a64(nulls & 1 ? NULL : bytes, count, next(&r, 8), nulls & 2 ? NULL : &hash);
        free(bytes);
    } else {
        // The extension function, outside any interpreter thread: its lock macros do nothing.
        size_t n = r.at < r.size && data[r.at] == 0 ? SIZE_MAX : claimed_count(&r);
        size_t allocated = n == SIZE_MAX ? 8 : n;
        double *in = buffer(allocated), *out = buffer(allocated), sum = 0;
        int passes = (int)(int8_t)next(&r, 1);
        (void)ck_ext_relax(nulls & 1 ? NULL : in, n, passes, (size_t)next(&r, 2), nulls & 2 ? NULL : out,
                           nulls & 4 ? NULL : &sum);
        free(in); free(out);
    }
    return 0;
}
