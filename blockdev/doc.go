// Package blockdev finds Talos's STATE partition and verifies what it holds,
// read-only and without locks.
//
// Locate reads a disk's or image's GPT (go-blockdevice) and lists the
// partitions named STATE; KernelPartitions lists them from sysfs instead,
// as the kernel scanned them, without reading the disk. Verify and
// VerifyPartition recognise the content by its magic and hand it to the
// package for its on-disk format:
//
//   - blockdev/xfs checks an XFS v5 superblock as strictly as the kernel's
//     mount does;
//   - blockdev/luks2 checks both LUKS2 header copies as cryptsetup reads
//     them.
//
// Talos is stricter than either, and talos.go says how: it restates the
// checks of go-blockdevice's prober (how Talos names the content, or fails
// to find STATE) and of its LUKS2 header validation (whether Talos will
// unlock it), and Outlook turns a Result into the sentence that says what
// Talos will do at boot.
//
// Every finding is a problem.Problem with a stable problem.Code
// (blockdev/problem); each package declares the codes of its own checks and
// AllCodes lists them all. A Result carries the problems with a Verdict.
// Reads are retried under a RetryPolicy, and an unreadable device is a
// verdict, never an error.
package blockdev
