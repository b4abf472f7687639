// Package xfs checks the XFS v5 superblock of a STATE partition as strictly
// as the Linux kernel's mount does, read-only.
//
// Check reads the primary superblock and the secondary superblocks of AG 1
// and of the last AG; CheckPrimary reads only what a mount reads. Every
// check follows the kernel's (xfs_validate_sb_common, xfs_validate_sb_read
// and xfs_fs_fill_super), and every finding carries one of the codes in
// codes.go. layout.go holds the on-disk superblock and its constants, which
// blockdev also uses to restate how go-blockdevice's prober reads it.
package xfs
