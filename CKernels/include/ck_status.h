#ifndef CK_STATUS_H
#define CK_STATUS_H

/*
 * Status codes returned by every ck_ kernel.
 *
 * One table defines the codes and generates ck_strerror, as libuv's UV_ERRNO_MAP does, so a
 * code cannot exist without its message.
 */

#define CK_STATUS_MAP(XX)                                                               \
    XX(CK_OK,        0, "success")                                                      \
    XX(CK_EINVAL,    1, "invalid argument: a dimension, stride or parameter is out of range") \
    XX(CK_ESHAPE,    2, "matrix shapes do not conform")                                 \
    XX(CK_ERANGE,    3, "buffer too small for the shape and stride given")              \
    XX(CK_EOVERFLOW, 4, "size overflows the integer type the kernel uses")              \
    XX(CK_EINTR,     5, "blocking call failed in the operating system")                 \
    XX(CK_ENOMEM,    6, "out of memory: a working buffer could not be allocated")

typedef enum ck_status {
#define CK_STATUS_ENUM(name, value, message) name = value,
    CK_STATUS_MAP(CK_STATUS_ENUM)
#undef CK_STATUS_ENUM
} ck_status;

/// Returns a static, human-readable message for `status`; never NULL.
const char *ck_strerror(int status);

/// Returns the symbolic name of `status` (for example "CK_EINVAL"); never NULL.
const char *ck_status_name(int status);

#endif /* CK_STATUS_H */
