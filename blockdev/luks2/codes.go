package luks2

import "github.com/raid-settle/raid-settle/blockdev/problem"

// LUKS2 problem codes. A header copy is "usable" when cryptsetup would load
// it: sane binary header, matching checksum, well-formed JSON (a subset of
// cryptsetup's JSON validation). The codes describing what is wrong with one
// copy carry the severity of that copy's verdict, CodePrimaryUnusable or
// CodeSecondaryUnusable: a warning while the other copy is usable
// (cryptsetup falls back to it and rewrites the bad one on the next open), an
// error when neither is. The exception is a primary with version 1:
// cryptsetup then takes the device for LUKS1 and never reads the LUKS2
// secondary, so that is an error whatever the secondary holds.
//
// These codes say what cryptsetup makes of the headers. Talos is stricter,
// and blockdev says so with codes of its own (blockdev/talos.go).
const (
	// CodeTruncated: a header copy extends beyond the end of the
	// partition, or the read came back short.
	CodeTruncated problem.Code = "luks2-truncated"
	// CodeBadMagic: the copy lacks its magic, "LUKS\xba\xbe" for the
	// primary and "SKUL\xba\xbe" for the secondary.
	CodeBadMagic problem.Code = "luks2-bad-magic"
	// CodeLUKS1: the primary header says version 1. That is a LUKS1
	// volume; Talos encrypts STATE with LUKS2 only, and cryptsetup then
	// ignores any LUKS2 secondary copy.
	CodeLUKS1 problem.Code = "luks2-luks1"
	// CodeBadVersion: the version is neither 2 nor, for the primary, 1.
	CodeBadVersion problem.Code = "luks2-bad-version"
	// CodeBadHeaderSize: hdr_size is not one of the sizes the spec allows
	// (16 KiB to 4 MiB, powers of two), or a secondary copy's hdr_size
	// differs from the offset it sits at.
	CodeBadHeaderSize problem.Code = "luks2-bad-header-size"
	// CodeBadHeaderOffset: hdr_offset differs from where the copy is.
	CodeBadHeaderOffset problem.Code = "luks2-bad-header-offset"
	// CodeUnknownChecksumAlgorithm: checksum_alg names an algorithm this
	// check cannot compute, so the copy's checksum is unverified.
	CodeUnknownChecksumAlgorithm problem.Code = "luks2-unknown-checksum-algorithm"
	// CodeChecksumMismatch: the stored checksum is not the digest of the
	// copy's binary header and JSON area.
	CodeChecksumMismatch problem.Code = "luks2-checksum-mismatch"
	// CodeJSONInvalid: the JSON area is not a single JSON object followed
	// by NUL padding, or lacks one of the sections keyslots, segments,
	// digests, config and tokens, or a field has the wrong type.
	CodeJSONInvalid problem.Code = "luks2-json-invalid"
	// CodeJSONSizeMismatch: config.json_size is not hdr_size-4096.
	CodeJSONSizeMismatch problem.Code = "luks2-json-size-mismatch"
	// CodePrimaryUnusable: verdict on the primary copy, after the codes
	// saying why.
	CodePrimaryUnusable problem.Code = "luks2-primary-unusable"
	// CodeSecondaryUnusable: verdict on the secondary copy, after the
	// codes saying why, or because no secondary copy was found.
	CodeSecondaryUnusable problem.Code = "luks2-secondary-unusable"
	// CodeSeqIDMismatch: both copies are usable but their sequence ids
	// differ, as after an interrupted update. cryptsetup uses the newer
	// and rewrites the older.
	CodeSeqIDMismatch problem.Code = "luks2-seqid-mismatch"
	// CodeUUIDMismatch: both copies are usable but name different UUIDs.
	CodeUUIDMismatch problem.Code = "luks2-uuid-mismatch"
	// CodeLabelMismatch: both copies are usable but carry different
	// labels.
	CodeLabelMismatch problem.Code = "luks2-label-mismatch"
	// CodeNoKeyslots: the header in use has no keyslot, so no key can
	// unlock the volume.
	CodeNoKeyslots problem.Code = "luks2-no-keyslots"
	// CodeNoSegments: the header in use describes no data segment.
	CodeNoSegments problem.Code = "luks2-no-segments"
	// CodeDeviceTooSmall: both header copies and the keyslot area, or the
	// data segment's start, do not fit in the partition; cryptsetup
	// refuses such a device.
	CodeDeviceTooSmall problem.Code = "luks2-device-too-small"
)

// AllCodes lists every code Check reports; blockdev.AllCodes includes it.
var AllCodes = []problem.Code{
	CodeTruncated,
	CodeBadMagic,
	CodeLUKS1,
	CodeBadVersion,
	CodeBadHeaderSize,
	CodeBadHeaderOffset,
	CodeUnknownChecksumAlgorithm,
	CodeChecksumMismatch,
	CodeJSONInvalid,
	CodeJSONSizeMismatch,
	CodePrimaryUnusable,
	CodeSecondaryUnusable,
	CodeSeqIDMismatch,
	CodeUUIDMismatch,
	CodeLabelMismatch,
	CodeNoKeyslots,
	CodeNoSegments,
	CodeDeviceTooSmall,
}
