/* A small translation unit for the compiler workload of the AppArmor VM tests. */
#include <string.h>
unsigned long length(const char *s) { return strlen(s); }
