#!/usr/bin/env bash
# Builds Talos-like disk images with the real tools and shows what
# `raid-settle verify` says of each: a healthy STATE, a STATE with only a bad
# checksum, one whose superblock fails the sanity checks, an encrypted one, a
# blank disk, and two disks that both carry STATE.
set -euo pipefail

bin=${1:?usage: demo-verify.sh RAID-SETTLE-BINARY OUTDIR}
out=${2:?usage: demo-verify.sh RAID-SETTLE-BINARY OUTDIR}
mkdir -p "$out"
mkdisk=$out/mkdisk
go build -o "$mkdisk" ./internal/diskimage/mkdisk

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

run() {
	printf '$ raid-settle verify %s\n' "$*"
	set +e
	"$bin" verify "$@"
	rc=$?
	set -e
	printf '(exit code %d)\n' "$rc"
}

echo "Building disk images in $out (mkfs.xfs, cryptsetup, GPT by go-blockdevice)..."
"$mkdisk" "$out/healthy.img"
"$mkdisk" -damage crc "$out/bad-crc.img"
"$mkdisk" -damage geometry "$out/bad-geometry.img"
"$mkdisk" -state luks2 "$out/encrypted.img"
"$mkdisk" -sector-size 4096 "$out/healthy-4kn.img"
"$mkdisk" -state none "$out/blank.img"
sha256sum "$out"/*.img >"$out/before.sha256"

step "A healthy Talos disk: STATE is XFS v5 and verifies"
run "$out/healthy.img"

step "The same on a 4Kn disk (4096-byte sectors)"
run "$out/healthy-4kn.img"

step "Only the superblock checksum is wrong: Talos finds STATE, its mount fails, xfs_repair runs"
run "$out/bad-crc.img"

step "The superblock fails its sanity checks: Talos does not recognise STATE and boots into maintenance"
run "$out/bad-geometry.img"

step "STATE encrypted with LUKS2: both headers verify, the XFS inside waits for Talos to unlock it"
run "$out/encrypted.img"

step "A blank disk: no STATE (a fresh machine)"
run "$out/blank.img"

step "Two disks both carry STATE (after a disk swap): reported, not picked"
run "$out/healthy.img" "$out/healthy-4kn.img"

step "The same report as JSON (first candidate, abridged)"
"$bin" verify --json "$out/bad-crc.img" | head -n 40 || true

step "Nothing was written"
sha256sum --quiet -c "$out/before.sha256" && echo "every image is byte-for-byte unchanged"
