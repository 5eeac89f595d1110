// Builds olareg (upstream code from the Go module proxy): a small OCI registry
// with the OCI 1.1 referrers API. A wrapper module because the proxy serves
// v0.1.2 but refuses olareg's version list, which `go install MODULE@VERSION`
// reads (for deprecation notices) and `go build` in a pinned module does not.
module airlock.invalid/peers/olareg

go 1.26

tool github.com/olareg/olareg/cmd/olareg

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/olareg/olareg v0.1.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/spf13/cobra v1.8.1 // indirect
	github.com/spf13/pflag v1.0.6 // indirect
)
