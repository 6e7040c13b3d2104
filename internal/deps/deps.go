//go:build tools

// Package deps pins the project's main dependencies while the packages that use them are written.
package deps

import (
	_ "github.com/jstemmer/go-junit-report/v2/junit"
	_ "github.com/spf13/cobra"
	_ "github.com/wcharczuk/go-chart/v2"
	_ "go.yaml.in/yaml/v3"
	_ "gotest.tools/v3/assert"
	_ "k8s.io/client-go/kubernetes"
	_ "sigs.k8s.io/controller-runtime/pkg/client"
	_ "sigs.k8s.io/e2e-framework/pkg/env"
	_ "sigs.k8s.io/kind/pkg/cluster"
	_ "github.com/miekg/dns"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "golang.org/x/term"
)
