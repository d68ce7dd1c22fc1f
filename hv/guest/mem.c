/* mem.c -- the guest's view of RAM: the PVH memory map and a bump frame allocator for demand paging. */
#include "cpu.h"
#include "hvk.h"

struct hvk_memrange hvk_memmap[HVK_MEMMAP_MAX];
u32 hvk_memmap_count;

/* Next free frame; only ever grows. Frames below 1 MiB (start_info, command
 * line, BIOS area) and the loaded image are never handed out. */
static u64 hvk_frame_next;
static u32 hvk_frame_range;
static volatile u32 hvk_frame_lock;

void *hvk_phys_to_virt(u64 pa)
{
    return (void *)(HVK_DIRECT_MAP_VA + pa);
}

/* Callers serialize (the #PF handler holds the demand lock); the lock here
 * keeps the allocator safe on its own. */
u64 hvk_frame_alloc(void)
{
    u64 pa = 0;
    while (__atomic_exchange_n(&hvk_frame_lock, 1, __ATOMIC_ACQUIRE))
        hvk_pause();
    for (; hvk_frame_range < hvk_memmap_count; hvk_frame_range++) {
        struct hvk_memrange *r = &hvk_memmap[hvk_frame_range];
        u64 lo = (u64)__hvk_image_phys_end;
        if (r->type != 1)
            continue;
        if (hvk_frame_next < r->base)
            hvk_frame_next = r->base;
        if (hvk_frame_next < lo)
            hvk_frame_next = lo;
        hvk_frame_next = (hvk_frame_next + HVK_PAGE_SIZE - 1) & ~(u64)(HVK_PAGE_SIZE - 1);
        if (hvk_frame_next + HVK_PAGE_SIZE <= r->end) {
            pa = hvk_frame_next;
            hvk_frame_next += HVK_PAGE_SIZE;
            break;
        }
    }
    __atomic_store_n(&hvk_frame_lock, 0, __ATOMIC_RELEASE);
    return pa;
}
