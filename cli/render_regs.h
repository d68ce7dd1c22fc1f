/* render_regs.h -- hvctl's human view of a vCPU's registers (hvd's `regs`). */
#ifndef HVCTL_RENDER_REGS_H
#define HVCTL_RENDER_REGS_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

void hvctl_render_regs(FILE *f, const json_t *regs, bool color);

#endif
