module github.com/raid-settle/raid-settle

go 1.26.0

require (
	github.com/google/uuid v1.6.0
	github.com/siderolabs/go-blockdevice/v2 v2.0.32
)

require (
	github.com/pilebones/go-udev v0.10.0 // indirect
	github.com/siderolabs/gen v0.8.5 // indirect
	github.com/siderolabs/go-pointer v1.0.1 // indirect
	github.com/siderolabs/go-retry v0.3.3 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.27.1 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.33.0 // indirect
)
