package kmod

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClosure(t *testing.T) {
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
			got, err := Closure(dep, builtin, tt.modules)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}

			if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
				t.Errorf("module files (-want +got):\n%s", diff)
			}
		})
	}
}
