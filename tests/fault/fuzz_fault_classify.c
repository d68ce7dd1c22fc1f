/* fuzz_fault_classify.c -- libFuzzer: x86_fault_classify over random RAM, registers, vector, error code and CPL; the record it fills must pass the checker and render. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hvkit/hvjson.h>

#include "../walk/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t ram[FUZZ_MAX_RAM];
    if (size < FUZZ_HDR)
        return 0;
    size_t ram_size = size - FUZZ_HDR > FUZZ_MAX_RAM ? FUZZ_MAX_RAM : size - FUZZ_HDR;
    memcpy(ram, data + FUZZ_HDR, ram_size);
    struct fuzz_ram fr = { ram, ram_size, 0 };
    struct x86_mem mem = { fuzz_read, &fr };
    struct x86_fault_input in;
    struct x86_cpu_facts cpu;
    struct x86_access acc;
    memset(&in, 0, sizeof in);
    fuzz_decode(data, &in.regs, &cpu, &in.cr2, &acc, ram_size);
    /* mostly #PF, sometimes any exception; raw inconsistent registers too */
    in.vector = data[34] < 200 ? 14 : data[34] % 32;
    in.cpl = data[35] % 4;
    memcpy(&in.error_code, data + 36, 4);
    if (data[40] == 0xff)
        in.regs.efer |= X86_EFER_LMA;   /* maybe without PAE / PG: refused registers */
    if ((data[42] & 1) && (in.regs.efer & X86_EFER_LMA) && (in.regs.cr4 & X86_CR4_PAE) &&
        (in.regs.cr0 & X86_CR0_PG) && !(in.regs.cr4 & X86_CR4_LA57)) {
        /* a complete 4-level chain for a canonical CR2 (tables at 0x1000..0x4000,
         * page at 0x5000) with random flag bytes: reaches every guest.* class */
        if (ram_size < 0x6000) {
            memset(ram + ram_size, 0, 0x6000 - ram_size);
            ram_size = 0x6000;
        }
        fr.size = ram_size;
        in.cr2 = (uint64_t)((int64_t)(in.cr2 << 16) >> 16);
        in.regs.cr3 = 0x1000;
        for (unsigned i = 0, table = 0x1000; i < 4; i++, table += 0x1000) {
            uint64_t idx = (in.cr2 >> (39 - 9 * i)) & 511;
            uint64_t e = (table + 0x1000) | data[43 + i] | ((data[47] >> i) & 1 ? 1ull << 63 : 0);
            memcpy(ram + table + idx * 8, &e, 8);
        }
    }

    struct x86_fault f;
    struct hvk_err err = { "" };
    if (x86_fault_classify(&in, &cpu, &mem, &f, &err) != 0)
        abort();   /* every input here is valid: a fault is a result, never an error */
    if (f.cls == HVK_FC_NONE || f.cls >= HVK_FC__COUNT || (f.walked && f.vector != 14))
        abort();
    if ((f.cls == HVK_FC_GUEST_SPURIOUS) != (f.walked && f.walk.reason == X86_WALK_OK))
        abort();
    if (f.level >= 0 && (!f.walked || (unsigned)f.level >= f.walk.nlevels))
        abort();
    if (fr.reads > X86_WALK_MAX_LEVELS)
        abort();

    struct x86_fault_frame frame = { .rip = fuzz_u64(data + 24) ^ 1, .rsp = 0x1000, .cs = (uint16_t)(8 * 3 + in.cpl) };
    struct x86_unwind_frame frames[20];
    for (unsigned i = 0; i < 20; i++)
        frames[i] = (struct x86_unwind_frame){ i ? frame.rip + i : frame.rip, 0 };
    struct hvk_fault_rec r;
    if (x86_fault_fill_record(&r, 0, &f, &frame, frames, data[41] % 21, &err) != 0)
        abort();
    if (x86_fault_rec_check(&r, 1, &err) != 0)
        abort();   /* the producer's records always pass the consumer's check */
    if (x86_fault_rec_notes(&r) != f.notes)
        abort();   /* notes survive the record */
    json_t *j = hvjson_fault(&r, NULL, 1, &err);
    if (!j)
        abort();
    json_decref(j);
    return 0;
}
