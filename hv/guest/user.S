/* user.S -- the code that runs at CPL3, linked at its user VA (HVK_USER_TEXT_VA). */
#include "layout.h"

	.section .user.text, "ax"

/* hvk_user_task(iters, seed, data): the heavy loop. An LCG stream is stored
 * round-robin into the 512 words of `data` and folded into an accumulator;
 * then the words are summed back. Returns acc + sum through int $0x80.
 * workload.c:hvk_user_task_model computes the same in C; keep them in step. */
	.globl hvk_user_task
hvk_user_task:
	push %rbp
	mov %rsp, %rbp
	push %rbx
	mov %rsi, %rax                  /* x */
	xor %r8d, %r8d                  /* acc */
	movabs $6364136223846793005, %r9
	movabs $1442695040888963407, %r10
	xor %ecx, %ecx                  /* i */
	test %rdi, %rdi
	jz 2f
1:	imul %r9, %rax
	add %r10, %rax
	mov %ecx, %r11d
	and $511, %r11d
	mov %rax, (%rdx, %r11, 8)
	mov %rax, %rbx
	shr $29, %rbx
	xor %rbx, %r8
	rol $7, %r8
	inc %rcx
	cmp %rdi, %rcx
	jb 1b
2:	xor %ecx, %ecx
3:	add (%rdx, %rcx, 8), %r8
	inc %ecx
	cmp $512, %ecx
	jb 3b
	mov %r8, %rdi
	pop %rbx
	pop %rbp
	mov $HVK_SYS_EXIT, %eax
	int $HVK_VEC_SYSCALL
	ud2

/* hvk_user_probe_read(va) / hvk_user_probe_write(va): one access from CPL3.
 * Returns 0 if it worked; a #PF instead ends the task with bit 63 | error code. */
	.globl hvk_user_probe_read
hvk_user_probe_read:
	movb (%rdi), %al
	xor %edi, %edi
	mov $HVK_SYS_EXIT, %eax
	int $HVK_VEC_SYSCALL
	ud2

	.globl hvk_user_probe_write
hvk_user_probe_write:
	movb $0, (%rdi)
	xor %edi, %edi
	mov $HVK_SYS_EXIT, %eax
	int $HVK_VEC_SYSCALL
	ud2
