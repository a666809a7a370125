// CShims is header-only (static inline functions Swift inlines); SwiftPM needs one source file.
#include "gl_swift_rc.h"
