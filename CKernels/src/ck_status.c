#include "ck_status.h"

const char *ck_strerror(int status) {
    switch (status) {
#define CK_STATUS_MESSAGE(name, value, message) case value: return message;
        CK_STATUS_MAP(CK_STATUS_MESSAGE)
#undef CK_STATUS_MESSAGE
    }
    return "unknown status";
}

const char *ck_status_name(int status) {
    switch (status) {
#define CK_STATUS_NAME(name, value, message) case value: return #name;
        CK_STATUS_MAP(CK_STATUS_NAME)
#undef CK_STATUS_NAME
    }
    return "CK_UNKNOWN";
}
