/* entry.S -- exception/syscall entry stubs, the user-mode round trip, and fault probes with fixups. */
#include "layout.h"

#define TF_RIP (17 * 8)   /* offsetof(struct hvk_trapframe, rip) */

/* 33 stubs, 16 bytes apart: vectors 0-31 then 0x80. Vectors without a CPU
 * error code push 0 so every frame has the struct hvk_trapframe layout. */
.macro HVK_ISR vec, has_err
	.p2align 4
	.if \has_err == 0
	pushq $0
	.endif
	pushq $\vec
	jmp hvk_trap_common
.endm

.macro HVK_ISR_TABLE name
	.p2align 4
	.globl \name
\name:
	HVK_ISR 0, 0
	HVK_ISR 1, 0
	HVK_ISR 2, 0
	HVK_ISR 3, 0
	HVK_ISR 4, 0
	HVK_ISR 5, 0
	HVK_ISR 6, 0
	HVK_ISR 7, 0
	HVK_ISR 8, 1
	HVK_ISR 9, 0
	HVK_ISR 10, 1
	HVK_ISR 11, 1
	HVK_ISR 12, 1
	HVK_ISR 13, 1
	HVK_ISR 14, 1
	HVK_ISR 15, 0
	HVK_ISR 16, 0
	HVK_ISR 17, 1
	HVK_ISR 18, 0
	HVK_ISR 19, 0
	HVK_ISR 20, 0
	HVK_ISR 21, 1
	HVK_ISR 22, 0
	HVK_ISR 23, 0
	HVK_ISR 24, 0
	HVK_ISR 25, 0
	HVK_ISR 26, 0
	HVK_ISR 27, 0
	HVK_ISR 28, 0
	HVK_ISR 29, 1
	HVK_ISR 30, 1
	HVK_ISR 31, 0
	HVK_ISR HVK_VEC_SYSCALL, 0
.endm

	.text
	HVK_ISR_TABLE hvk_isr_table
/* The same stubs at other addresses: `idt-swap` (faults.c) points some
 * gates here mid-run, so a hypervisor tracing the handlers must follow. */
	HVK_ISR_TABLE hvk_isr_table_alt

/* Common path: save the GPRs, then build a frame record (interrupted rbp,
 * interrupted rip) so frame-pointer unwinders walk through the trap. */
	.p2align 4
	.globl hvk_trap_common
hvk_trap_common:
	push %r15
	push %r14
	push %r13
	push %r12
	push %r11
	push %r10
	push %r9
	push %r8
	push %rbp
	push %rdi
	push %rsi
	push %rdx
	push %rcx
	push %rbx
	push %rax
	mov %rsp, %rdi
	pushq TF_RIP(%rdi)
	push %rbp
	mov %rsp, %rbp
	cld
	call hvk_trap
	add $16, %rsp
	pop %rax
	pop %rbx
	pop %rcx
	pop %rdx
	pop %rsi
	pop %rdi
	pop %rbp
	pop %r8
	pop %r9
	pop %r10
	pop %r11
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	add $16, %rsp                   /* vector, error code */
	iretq

/* u64 hvk_user_enter(entry, user_rsp, a0, a1, a2, struct hvk_user_ctx *ctx)
 * Runs entry(a0, a1, a2) at CPL3 and returns what it passes to int $0x80
 * (rax = HVK_SYS_EXIT, rdi = result), via hvk_user_resume. TSS.RSP0 is set
 * just below the saved registers, so traps from user mode never overwrite them. */
	.globl hvk_user_enter
hvk_user_enter:
	push %rbp
	mov %rsp, %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, 0(%r9)                /* ctx->kernel_rsp */
	mov 8(%r9), %rax                /* ctx->rsp0 */
	mov %rsp, (%rax)
	pushq $HVK_SEL_UDATA            /* ss */
	push %rsi                       /* rsp */
	pushq $0x2                      /* rflags: IF=0, IOPL=0 */
	pushq $HVK_SEL_UCODE            /* cs */
	push %rdi                       /* rip */
	mov %rdx, %rdi
	mov %rcx, %rsi
	mov %r8, %rdx
	xor %eax, %eax
	xor %ebx, %ebx
	xor %ecx, %ecx
	xor %ebp, %ebp
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	xor %r12d, %r12d
	xor %r13d, %r13d
	xor %r14d, %r14d
	xor %r15d, %r15d
	iretq

/* void hvk_user_resume(u64 kernel_rsp, u64 result): return from hvk_user_enter. */
	.globl hvk_user_resume
hvk_user_resume:
	mov %rdi, %rsp
	mov %rsi, %rax
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret

/* Probes: return ~0 when the access succeeds. On a #PF at one of the *_at
 * labels, hvk_trap puts the error code in rax and resumes at hvk_probe_done. */
	.globl hvk_probe_read, hvk_probe_read_at, hvk_probe_done
	.globl hvk_probe_write, hvk_probe_write_rd_at, hvk_probe_write_at
	.globl hvk_probe_exec
hvk_probe_read:
	mov $-1, %rax
hvk_probe_read_at:
	movb (%rdi), %dl
hvk_probe_done:
	ret
hvk_probe_write:
	mov $-1, %rax
hvk_probe_write_rd_at:
	movb (%rdi), %dl
hvk_probe_write_at:
	movb %dl, (%rdi)
	jmp hvk_probe_done
/* The fetch #PF has rip = cr2 = va (the cpu's exec_probe_va); hvk_trap then
 * pops the return address pushed by this call. The probed page holds `ret`
 * bytes, so without NX the call simply returns ~0. */
hvk_probe_exec:
	mov $-1, %rax
	call *%rdi
	ret

/* Kernel faults the faults battery recovers from through the fixup table
 * (faults.c): the instruction at *_at faults, the handler resumes at *_done
 * with rax = the error code. Without the fault they return ~0. */
	.globl hvk_fx_gp, hvk_fx_gp_at, hvk_fx_gp_done
	.globl hvk_fx_ud, hvk_fx_ud_at, hvk_fx_ud_done
hvk_fx_gp:
	mov $-1, %rax
hvk_fx_gp_at:
	movq (%rdi), %rdx
hvk_fx_gp_done:
	ret
hvk_fx_ud:
	mov $-1, %rax
hvk_fx_ud_at:
	ud2
hvk_fx_ud_done:
	ret
