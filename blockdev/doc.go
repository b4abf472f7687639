// Package blockdev finds Talos's STATE partition and verifies what it holds,
// read-only and without locks.
//
// Locate reads a disk's or image's GPT (go-blockdevice) and lists the
// partitions named STATE; KernelPartitions lists them from sysfs instead,
// as the kernel scanned them, without reading the disk. Verify and
// VerifyPartition check the content: an XFS v5 superblock as strictly as
// the kernel's mount does (CheckXFS, CheckXFSPrimary), or a LUKS2 header as
// cryptsetup and Talos do (CheckLUKS2), and name it as Talos's prober would
// (prober.go). Every finding is a Problem with a stable Code; a Result
// carries them with a Verdict and an Outlook, the sentence that says what
// Talos will do at boot. Reads are retried under a RetryPolicy, and an
// unreadable device is a verdict, never an error.
package blockdev
