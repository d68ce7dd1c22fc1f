/* embedded_guest.c -- access to the bundled guest linked into hv. */
#include "embedded_guest.h"

#ifdef HV_HAVE_EMBEDDED_GUEST
extern const unsigned char hv_embedded_guest_start[];
extern const unsigned char hv_embedded_guest_end[];

const void *hv_embedded_guest(size_t *size)
{
    *size = (size_t)(hv_embedded_guest_end - hv_embedded_guest_start);
    return hv_embedded_guest_start;
}
#else
const void *hv_embedded_guest(size_t *size)
{
    *size = 0;
    return NULL;
}
#endif
