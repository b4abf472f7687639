// Package luks2 checks the LUKS2 header of an encrypted STATE partition as
// cryptsetup reads it, read-only.
//
// Check reads both header copies, verifies each binary header, checksum and
// JSON area (a subset of cryptsetup's validation), and says which copy
// cryptsetup would use and what it describes. A damaged copy is a warning
// while the other is usable and an error when neither is. layout.go holds
// the on-disk format; codes.go names every finding.
//
// What Talos itself makes of the headers (whether its prober finds them, and
// whether go-blockdevice's header check lets it unlock them) is blockdev's
// concern, beside the rest of Talos's outlook.
package luks2
