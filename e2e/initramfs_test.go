package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestModuleClosure(t *testing.T) {
	dep := []byte(`kernel/drivers/scsi/megaraid/megaraid_sas.ko.xz: kernel/drivers/scsi/scsi_mod.ko.xz kernel/drivers/scsi/scsi_common.ko.xz
kernel/drivers/scsi/scsi_mod.ko.xz: kernel/drivers/scsi/scsi_common.ko.xz
kernel/drivers/scsi/scsi_common.ko.xz:
kernel/drivers/nvme/host/nvme-core.ko.xz:
kernel/drivers/nvme/host/nvme.ko.xz: kernel/drivers/nvme/host/nvme-core.ko.xz
`)
	builtin := []byte("kernel/drivers/virtio/virtio_pci.ko\n")

	tests := []struct {
		name    string
		modules []string
		want    []string
		wantErr bool
	}{
		{"dependencies follow", []string{"megaraid_sas"}, []string{
			"kernel/drivers/scsi/megaraid/megaraid_sas.ko.xz", "kernel/drivers/scsi/scsi_common.ko.xz", "kernel/drivers/scsi/scsi_mod.ko.xz",
		}, false},
		{"dashes and underscores are one", []string{"nvme_core"}, []string{"kernel/drivers/nvme/host/nvme-core.ko.xz"}, false},
		{"built-in needs no file", []string{"virtio_pci", "nvme"}, []string{
			"kernel/drivers/nvme/host/nvme-core.ko.xz", "kernel/drivers/nvme/host/nvme.ko.xz",
		}, false},
		{"unknown module", []string{"mpt3sas"}, nil, true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := moduleClosure(dep, builtin, tt.modules)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}

			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResolveInRoot(t *testing.T) {
	root := t.TempDir()

	mk := func(p string) {
		t.Helper()

		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}

		if err := os.WriteFile(filepath.Join(root, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	link := func(p, target string) {
		t.Helper()

		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}

	mk("usr/lib/x86_64-linux-gnu/libkmod.so.2.5.1")
	link("usr/lib/x86_64-linux-gnu/libkmod.so.2", "libkmod.so.2.5.1")
	mk("usr/lib64/ld-linux-x86-64.so.2")
	mk("lib/x86_64-linux-gnu/libold.so.1") // an unmerged package
	link("usr/lib/x86_64-linux-gnu/libabs.so.1", "/usr/lib/x86_64-linux-gnu/libkmod.so.2")

	tests := []struct{ guest, want string }{
		{"/usr/lib/x86_64-linux-gnu/libkmod.so.2", "usr/lib/x86_64-linux-gnu/libkmod.so.2.5.1"},
		{"/lib64/ld-linux-x86-64.so.2", "usr/lib64/ld-linux-x86-64.so.2"},
		{"/usr/lib/x86_64-linux-gnu/libold.so.1", "lib/x86_64-linux-gnu/libold.so.1"},
		{"/usr/lib/x86_64-linux-gnu/libabs.so.1", "usr/lib/x86_64-linux-gnu/libkmod.so.2.5.1"},
	}

	for _, tt := range tests {
		got, err := resolveInRoot(root, tt.guest)
		if err != nil {
			t.Errorf("resolveInRoot(%s): %v", tt.guest, err)

			continue
		}

		if want := filepath.Join(root, tt.want); got != want {
			t.Errorf("resolveInRoot(%s) = %s, want %s", tt.guest, got, want)
		}
	}

	if _, err := resolveInRoot(root, "/usr/lib/libmissing.so"); err == nil {
		t.Error("a missing library resolved")
	}
}

func TestParseControl(t *testing.T) {
	stanza := []byte(`Package: libsystemd-shared
Architecture: amd64
Version: 257.13-1~deb13u1
Pre-Depends: libc6 (>= 2.39)
Depends: libacl1 (>= 2.2.23), systemd | systemd-standalone-sysusers, libssl3t64:amd64 (>= 3.4.0)
Description: systemd shared private library
 continued
`)

	p, err := parseControl(stanza)
	if err != nil {
		t.Fatal(err)
	}

	want := Package{Name: "libsystemd-shared", Version: "257.13-1~deb13u1", Arch: "amd64", Depends: []string{"libc6", "libacl1", "systemd", "libssl3t64"}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got %+v, want %+v", p, want)
	}

	if got := (Package{Name: "libaudit1", Version: "1:4.0.2-2", Arch: "amd64"}).DebName(); got != "libaudit1_1%3a4.0.2-2_amd64.deb" {
		t.Errorf("DebName = %s", got)
	}
}
