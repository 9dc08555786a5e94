// The default seccomp profile, as data: the allowlist of the Docker/containerd lineage
// (containerd contrib/seccomp/seccomp_default.go DefaultProfile; moby profiles/seccomp/default.json).
// Everything not allowed fails with EPERM (defaultErrnoRet 1, as Docker's profile sets it), so
// programs see "operation not permitted" rather than a kill. Rules may be conditional on the
// container's bounding capabilities, on the architecture (Node's `process.arch` names) and on a
// minimum kernel; seccomp.ts resolves them into a runtime-spec `linux.seccomp` section.
//
// Where the two upstreams differ, containerd's list is followed: the lsm_* calls are allowed to
// all (moby gates them behind CAP_SYS_ADMIN) and riscv_hwprobe only on riscv64.

import type { SeccompAction, SyscallArg } from '../oci/runtime/index.ts';

export interface SeccompCondition {
  /** Bounding capabilities (all of them) the container must hold. */
  caps?: readonly string[];
  /** Architectures in Node's `process.arch` terms (`x64`, `arm64`, …). */
  arches?: readonly string[];
  /** A minimum kernel version, `major.minor`. */
  minKernel?: string;
}

export interface SeccompRule {
  names: readonly string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: readonly SyscallArg[];
  /** The rule applies only when all of these hold. */
  includes?: SeccompCondition;
  /** The rule applies only when none of these hold (each listed capability or arch excludes). */
  excludes?: SeccompCondition;
  comment?: string;
}

export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet: number;
  /** libseccomp architectures per Node architecture: the native one first, then its compat ABIs. */
  archMap: Readonly<Record<string, readonly string[]>>;
  rules: readonly SeccompRule[];
}

const EPERM = 1;
const ENOSYS = 38;

// clone(2) flags that create namespaces: CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
// CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET (linux/sched.h).
const CLONE_NAMESPACE_FLAGS =
  0x20000 | 0x2000000 | 0x4000000 | 0x8000000 | 0x10000000 | 0x20000000 | 0x40000000;

// socket(2) address families kept out (linux/socket.h): AF_ALG (kernel crypto API, a recurring
// source of kernel bugs) and AF_VSOCK (host/guest sockets). Three single-condition rules, because
// runc turns two conditions on the same argument into an OR (containerd's comment on this rule).
const AF_ALG = 38;
const AF_VSOCK = 40;

// personality(2) domains a container may switch to (linux/personality.h): PER_LINUX,
// PER_LINUX32, UNAME26, PER_LINUX32|UNAME26, and 0xffffffff which only queries the current one.
const PERSONALITIES = [0x0, 0x0008, 0x20000, 0x20008, 0xffffffff];

/** Syscalls every container may make. */
// biome-ignore format: data, kept compact and sorted
const ALLOWED: readonly string[] = [
  '_llseek', '_newselect', 'accept', 'accept4', 'access', 'adjtimex', 'alarm', 'bind', 'brk',
  'cachestat', 'capget', 'capset', 'chdir', 'chmod', 'chown', 'chown32', 'clock_adjtime',
  'clock_adjtime64', 'clock_getres', 'clock_getres_time64', 'clock_gettime', 'clock_gettime64',
  'clock_nanosleep', 'clock_nanosleep_time64', 'close', 'close_range', 'connect', 'copy_file_range',
  'creat', 'dup', 'dup2', 'dup3', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old',
  'epoll_pwait', 'epoll_pwait2', 'epoll_wait', 'epoll_wait_old', 'eventfd', 'eventfd2', 'execve',
  'execveat', 'exit', 'exit_group', 'faccessat', 'faccessat2', 'fadvise64', 'fadvise64_64', 'fallocate',
  'fanotify_mark', 'fchdir', 'fchmod', 'fchmodat', 'fchmodat2', 'fchown', 'fchown32', 'fchownat',
  'fcntl', 'fcntl64', 'fdatasync', 'fgetxattr', 'flistxattr', 'flock', 'fork', 'fremovexattr',
  'fsetxattr', 'fstat', 'fstat64', 'fstatat64', 'fstatfs', 'fstatfs64', 'fsync', 'ftruncate',
  'ftruncate64', 'futex', 'futex_requeue', 'futex_time64', 'futex_wait', 'futex_waitv', 'futex_wake',
  'futimesat', 'get_robust_list', 'get_thread_area', 'getcpu', 'getcwd', 'getdents', 'getdents64',
  'getegid', 'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32',
  'getitimer', 'getpeername', 'getpgid', 'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrandom',
  'getresgid', 'getresgid32', 'getresuid', 'getresuid32', 'getrlimit', 'getrusage', 'getsid',
  'getsockname', 'getsockopt', 'gettid', 'gettimeofday', 'getuid', 'getuid32', 'getxattr', 'getxattrat',
  'inotify_add_watch', 'inotify_init', 'inotify_init1', 'inotify_rm_watch', 'io_cancel', 'io_destroy',
  'io_getevents', 'io_pgetevents', 'io_pgetevents_time64', 'io_setup', 'io_submit', 'ioctl',
  'ioprio_get', 'ioprio_set', 'ipc', 'kill', 'landlock_add_rule', 'landlock_create_ruleset',
  'landlock_restrict_self', 'lchown', 'lchown32', 'lgetxattr', 'link', 'linkat', 'listen', 'listmount',
  'listxattr', 'listxattrat', 'llistxattr', 'lremovexattr', 'lseek', 'lsetxattr', 'lsm_get_self_attr',
  'lsm_list_modules', 'lsm_set_self_attr', 'lstat', 'lstat64', 'madvise', 'map_shadow_stack',
  'membarrier', 'memfd_create', 'memfd_secret', 'mincore', 'mkdir', 'mkdirat', 'mknod', 'mknodat',
  'mlock', 'mlock2', 'mlockall', 'mmap', 'mmap2', 'mprotect', 'mq_getsetattr', 'mq_notify', 'mq_open',
  'mq_timedreceive', 'mq_timedreceive_time64', 'mq_timedsend', 'mq_timedsend_time64', 'mq_unlink',
  'mremap', 'mseal', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'msync', 'munlock', 'munlockall', 'munmap',
  'name_to_handle_at', 'nanosleep', 'newfstatat', 'open', 'openat', 'openat2', 'pause', 'pidfd_open',
  'pidfd_send_signal', 'pipe', 'pipe2', 'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'poll', 'ppoll',
  'ppoll_time64', 'prctl', 'pread64', 'preadv', 'preadv2', 'prlimit64', 'process_mrelease', 'pselect6',
  'pselect6_time64', 'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead', 'readlink', 'readlinkat',
  'readv', 'recv', 'recvfrom', 'recvmmsg', 'recvmmsg_time64', 'recvmsg', 'remap_file_pages',
  'removexattr', 'removexattrat', 'rename', 'renameat', 'renameat2', 'restart_syscall', 'rmdir', 'rseq',
  'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend',
  'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_tgsigqueueinfo', 'sched_get_priority_max',
  'sched_get_priority_min', 'sched_getaffinity', 'sched_getattr', 'sched_getparam', 'sched_getscheduler',
  'sched_rr_get_interval', 'sched_rr_get_interval_time64', 'sched_setaffinity', 'sched_setattr',
  'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'select', 'semctl', 'semget',
  'semop', 'semtimedop', 'semtimedop_time64', 'send', 'sendfile', 'sendfile64', 'sendmmsg', 'sendmsg',
  'sendto', 'set_robust_list', 'set_thread_area', 'set_tid_address', 'setfsgid', 'setfsgid32',
  'setfsuid', 'setfsuid32', 'setgid', 'setgid32', 'setgroups', 'setgroups32', 'setitimer', 'setpgid',
  'setpriority', 'setregid', 'setregid32', 'setresgid', 'setresgid32', 'setresuid', 'setresuid32',
  'setreuid', 'setreuid32', 'setrlimit', 'setsid', 'setsockopt', 'setuid', 'setuid32', 'setxattr',
  'setxattrat', 'shmat', 'shmctl', 'shmdt', 'shmget', 'shutdown', 'sigaltstack', 'signalfd', 'signalfd4',
  'sigprocmask', 'sigreturn', 'socketcall', 'socketpair', 'splice', 'stat', 'stat64', 'statfs',
  'statfs64', 'statmount', 'statx', 'symlink', 'symlinkat', 'sync', 'sync_file_range', 'syncfs',
  'sysinfo', 'tee', 'tgkill', 'time', 'timer_create', 'timer_delete', 'timer_getoverrun',
  'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64', 'timerfd_create',
  'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64', 'times', 'tkill',
  'truncate', 'truncate64', 'ugetrlimit', 'umask', 'uname', 'unlink', 'unlinkat', 'uretprobe', 'utime',
  'utimensat', 'utimensat_time64', 'utimes', 'vfork', 'vmsplice', 'wait4', 'waitid', 'waitpid', 'write',
  'writev',
];

const allow = (
  names: readonly string[],
  conditions: Omit<SeccompRule, 'names' | 'action'> = {},
): SeccompRule => ({
  names,
  action: 'SCMP_ACT_ALLOW',
  ...conditions,
});
const ifCap = (cap: string, ...names: string[]): SeccompRule => allow(names, { includes: { caps: [cap] } });

export const DEFAULT_SECCOMP_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: EPERM,
  archMap: {
    x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
    s390x: ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'],
    riscv64: ['SCMP_ARCH_RISCV64'],
    loong64: ['SCMP_ARCH_LOONGARCH64'],
  },
  rules: [
    allow(ALLOWED),
    // Tracing other processes of the container; before 4.8 ptrace could bypass seccomp.
    allow(['process_vm_readv', 'process_vm_writev', 'ptrace'], { includes: { minKernel: '4.8' } }),
    allow(['socket'], { args: [{ index: 0, value: AF_ALG, op: 'SCMP_CMP_LT' }] }),
    allow(['socket'], { args: [{ index: 0, value: AF_ALG + 1, op: 'SCMP_CMP_EQ' }] }),
    allow(['socket'], { args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_GT' }] }),
    ...PERSONALITIES.map((value) =>
      allow(['personality'], { args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] }),
    ),
    allow(['sync_file_range2', 'swapcontext'], { includes: { arches: ['ppc64'] } }),
    allow(
      ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
      {
        includes: { arches: ['arm', 'arm64'] },
      },
    ),
    allow(['arch_prctl', 'modify_ldt'], { includes: { arches: ['x64'] } }),
    allow(['modify_ldt'], { includes: { arches: ['ia32'] } }),
    allow(['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr'], {
      includes: { arches: ['s390x'] },
    }),
    allow(['riscv_flush_icache', 'riscv_hwprobe'], { includes: { arches: ['riscv64'] } }),
    ifCap('CAP_DAC_READ_SEARCH', 'open_by_handle_at'),
    ifCap(
      'CAP_SYS_ADMIN',
      'bpf',
      'clone',
      'clone3',
      'fanotify_init',
      'fsconfig',
      'fsmount',
      'fsopen',
      'fspick',
      'lookup_dcookie',
      'mount',
      'mount_setattr',
      'move_mount',
      'open_tree',
      'perf_event_open',
      'quotactl',
      'quotactl_fd',
      'setdomainname',
      'sethostname',
      'setns',
      'syslog',
      'umount',
      'umount2',
      'unshare',
    ),
    ifCap('CAP_SYS_BOOT', 'reboot'),
    ifCap('CAP_SYS_CHROOT', 'chroot'),
    ifCap('CAP_SYS_MODULE', 'delete_module', 'init_module', 'finit_module'),
    ifCap('CAP_SYS_PACCT', 'acct'),
    ifCap(
      'CAP_SYS_PTRACE',
      'kcmp',
      'pidfd_getfd',
      'process_madvise',
      'process_vm_readv',
      'process_vm_writev',
      'ptrace',
    ),
    ifCap('CAP_SYS_RAWIO', 'iopl', 'ioperm'),
    ifCap('CAP_SYS_TIME', 'settimeofday', 'stime', 'clock_settime', 'clock_settime64'),
    ifCap('CAP_SYS_TTY_CONFIG', 'vhangup'),
    ifCap('CAP_SYS_NICE', 'get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'),
    ifCap('CAP_SYSLOG', 'syslog'),
    ifCap('CAP_BPF', 'bpf'),
    ifCap('CAP_PERFMON', 'perf_event_open'),
    // Without CAP_SYS_ADMIN, clone may not create namespaces (flags are argument 0, but argument 1
    // on s390, whose clone takes the stack first).
    allow(['clone'], {
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390x'] },
    }),
    allow(['clone'], {
      args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      includes: { arches: ['s390x'] },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    }),
    {
      names: ['clone3'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: ENOSYS,
      excludes: { caps: ['CAP_SYS_ADMIN'] },
      comment:
        'clone3 passes its flags in memory, where seccomp cannot look; ENOSYS makes libc fall back to clone, which the rule above checks (moby PR 42681)',
    },
  ],
};
