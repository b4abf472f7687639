// Package e2e is the end-to-end harness: it boots Debian's kernel and
// systemd-udevd in QEMU (TCG) with the raid-settle extension, against
// emulated MegaRAID, virtio, AHCI and NVMe controllers and Talos-like disk
// images, each scenario without and with raid-settle, and checks what a
// Talos-like init saw (e2e/README.md).
//
// Harness prepares the guest (host tools, Debian packages through a
// private apt state, the initramfs); Scenario describes a machine and its
// Checks; RunMatrix boots them, a few at a time; Outcome, the table,
// latency, paired and certify writers turn the boots into RESULTS.md.
package e2e
