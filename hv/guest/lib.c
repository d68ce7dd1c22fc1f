/* lib.c -- the few libc functions a freestanding compiler may emit calls to (struct copies, zeroing). */
#include "hvk.h"

void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
void *memmove(void *d, const void *s, unsigned long n);
int memcmp(const void *a, const void *b, unsigned long n);

void *memset(void *d, int c, unsigned long n)
{
    void *p = d;
    __asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
    return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
    hvk_memcpy(d, s, n);
    return d;
}

void *memmove(void *d, const void *s, unsigned long n)
{
    volatile u8 *dp = d;    /* volatile: keep the compiler from turning this loop into a call */
    const u8 *sp = s;
    if ((u8 *)dp <= sp || (u8 *)dp >= sp + n)
        return memcpy(d, s, n);
    while (n--)
        dp[n] = sp[n];
    return d;
}

int memcmp(const void *a, const void *b, unsigned long n)
{
    const volatile u8 *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}
