/* embedded_guest.h -- the bundled guest ELF, linked into hv as bytes. */
#ifndef HV_EMBEDDED_GUEST_H
#define HV_EMBEDDED_GUEST_H

#include <stddef.h>

/* NULL / 0 when hv was built without the bundled guest. */
const void *hv_embedded_guest(size_t *size);

#endif
