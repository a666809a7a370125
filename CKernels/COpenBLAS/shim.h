// OpenBLAS's CBLAS interface. Debian installs cblas.h in a variant folder
// (openblas-pthread/) that pkg-config's `openblas` puts on the include path.
#include <cblas.h>
