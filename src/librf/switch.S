/*
 * switch.S - the x86-64 fiber context switch.
 *
 * Hand-written instead of ucontext because swapcontext makes a
 * sigprocmask system call on every switch.  A switch is a plain function
 * call for the compiler, so only the SysV callee-saved registers (rbx, rbp,
 * r12-r15), the stack pointer and the two control words the ABI makes
 * callee-saved (x87 control word, MXCSR control bits) need saving; they are
 * pushed on the switched-out stack, which keeps the saved context to a
 * single pointer.
 *
 *   void lrf_ctx_switch(void **save, void *new_sp)
 *
 * A new fiber's stack is prepared by fiber.c to look like a switched-out
 * one whose return address is lrf_ctx_trampoline, with the fiber pointer in
 * the r12 slot.
 *
 *   _Noreturn void lrf_run_on_stack(void *top, void (*fn)(void *), void *arg)
 *
 * moves the calling thread onto the stack that ends at `top` and calls
 * fn(arg) there, never to come back: the main thread, which runs core 0's
 * scheduler, leaves its ordinary (unlocked, grown by page faults) stack
 * for one from the partition (core.c).
 */
	.text
	.globl	lrf_ctx_switch
	.type	lrf_ctx_switch, @function
lrf_ctx_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	4(%rsp)
	fnstcw	(%rsp)
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	fldcw	(%rsp)
	ldmxcsr	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	lrf_ctx_switch, .-lrf_ctx_switch

/* First code a fiber runs: rsp is 16-byte aligned here (fiber.c makes it
 * so), as the ABI wants before a call. */
	.globl	lrf_ctx_trampoline
	.type	lrf_ctx_trampoline, @function
lrf_ctx_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	movq	%r12, %rdi
	call	lrf_fiber_entry
	ud2
	.cfi_endproc
	.size	lrf_ctx_trampoline, .-lrf_ctx_trampoline

	.globl	lrf_run_on_stack
	.type	lrf_run_on_stack, @function
lrf_run_on_stack:
	.cfi_startproc
	.cfi_undefined rip
	movq	%rdi, %rsp
	andq	$-16, %rsp
	xorl	%ebp, %ebp
	movq	%rdx, %rdi
	call	*%rsi
	ud2
	.cfi_endproc
	.size	lrf_run_on_stack, .-lrf_run_on_stack

	.section .note.GNU-stack,"",@progbits

