package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The *YAML types mirror the envoy configuration in the files. Only the fields
// they list are understood; decode reports any other field as ignored.

// bootstrapYAML is envoy's Bootstrap message.
type bootstrapYAML struct {
	Node struct {
		ID      string `yaml:"id"`
		Cluster string `yaml:"cluster"`
	} `yaml:"node"`
	DynamicResources struct {
		CDSConfig configSourceYAML `yaml:"cds_config"`
		LDSConfig configSourceYAML `yaml:"lds_config"`
	} `yaml:"dynamic_resources"`
	Admin struct {
		Address addressYAML `yaml:"address"`
	} `yaml:"admin"`
}

// configSourceYAML is a ConfigSource; only path_config_source is supported.
type configSourceYAML struct {
	ResourceAPIVersion string `yaml:"resource_api_version"`
	PathConfigSource   struct {
		Path string `yaml:"path"`
	} `yaml:"path_config_source"`
}

// addressYAML is an Address; only socket_address is supported.
type addressYAML struct {
	SocketAddress *struct {
		Address   string `yaml:"address"`
		PortValue uint32 `yaml:"port_value"`
		Protocol  string `yaml:"protocol"`
	} `yaml:"socket_address"`
}

// ldsYAML is the content of an LDS file.
type ldsYAML struct {
	VersionInfo string         `yaml:"version_info"`
	Resources   []listenerYAML `yaml:"resources"`
}

// listenerYAML is a Listener with a tcp_proxy filter.
type listenerYAML struct {
	Type         string      `yaml:"@type"`
	Name         string      `yaml:"name"`
	Address      addressYAML `yaml:"address"`
	FilterChains []struct {
		Filters []struct {
			Name        string `yaml:"name"`
			TypedConfig struct {
				Type    string `yaml:"@type"`
				Cluster string `yaml:"cluster"`
			} `yaml:"typed_config"`
		} `yaml:"filters"`
	} `yaml:"filter_chains"`
}

// cdsYAML is the content of a CDS file.
type cdsYAML struct {
	VersionInfo string        `yaml:"version_info"`
	Resources   []clusterYAML `yaml:"resources"`
}

// clusterYAML is a Cluster.
type clusterYAML struct {
	Type                   string                 `yaml:"@type"`
	Name                   string                 `yaml:"name"`
	ConnectTimeout         string                 `yaml:"connect_timeout"`
	DiscoveryType          string                 `yaml:"type"`
	LBPolicy               string                 `yaml:"lb_policy"`
	DNSLookupFamily        string                 `yaml:"dns_lookup_family"`
	HealthChecks           []healthCheckYAML      `yaml:"health_checks"`
	TransportSocket        *transportSocketYAML   `yaml:"transport_socket"`
	TransportSocketMatches []transportSocketMatch `yaml:"transport_socket_matches"`
	LoadAssignment         struct {
		ClusterName string `yaml:"cluster_name"`
		Endpoints   []struct {
			LBEndpoints []struct {
				Endpoint struct {
					Address addressYAML `yaml:"address"`
				} `yaml:"endpoint"`
			} `yaml:"lb_endpoints"`
		} `yaml:"endpoints"`
	} `yaml:"load_assignment"`
}

// healthCheckYAML is a HealthCheck; only http_health_check is supported.
type healthCheckYAML struct {
	Timeout            string  `yaml:"timeout"`
	Interval           string  `yaml:"interval"`
	UnhealthyThreshold *uint32 `yaml:"unhealthy_threshold"`
	HealthyThreshold   *uint32 `yaml:"healthy_threshold"`
	HTTPHealthCheck    *struct {
		Path string `yaml:"path"`
		Host string `yaml:"host"`
	} `yaml:"http_health_check"`
	TransportSocketMatchCriteria map[string]string `yaml:"transport_socket_match_criteria"`
}

// transportSocketMatch is an entry of a cluster's transport_socket_matches.
type transportSocketMatch struct {
	Name            string              `yaml:"name"`
	Match           map[string]string   `yaml:"match"`
	TransportSocket transportSocketYAML `yaml:"transport_socket"`
}

// transportSocketYAML is a TransportSocket: raw_buffer or tls (UpstreamTlsContext).
type transportSocketYAML struct {
	Name        string `yaml:"name"`
	TypedConfig struct {
		Type             string `yaml:"@type"`
		SNI              string `yaml:"sni"`
		CommonTLSContext struct {
			ValidationContext struct {
				TrustChainVerification string `yaml:"trust_chain_verification"`
			} `yaml:"validation_context"`
		} `yaml:"common_tls_context"`
	} `yaml:"typed_config"`
}

// decode unmarshals YAML into out and returns the paths of the fields out's type
// does not know, indices written as []. It never panics: a parser panic on hostile
// input becomes an error, since a bad file must not take the load balancer down.
func decode(data []byte, out any) (ignored []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: parser panic: %v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 { // empty file: no fields, no resources
		return nil, nil
	}
	if err := doc.Decode(out); err != nil {
		return nil, err
	}
	var walk func(n *yaml.Node, t reflect.Type, path string, depth int)
	walk = func(n *yaml.Node, t reflect.Type, path string, depth int) {
		for n.Kind == yaml.AliasNode && n.Alias != nil && depth < 64 {
			n, depth = n.Alias, depth+1
		}
		if depth > 64 {
			return
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case n.Kind == yaml.DocumentNode && len(n.Content) > 0:
			walk(n.Content[0], t, path, depth+1)
		case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
			for _, c := range n.Content {
				walk(c, t.Elem(), path+"[]", depth+1)
			}
		case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, val := n.Content[i].Value, n.Content[i+1]
				if key == "<<" { // merge key: its mapping's fields belong here
					walk(val, t, path, depth+1)
					continue
				}
				p := key
				if path != "" {
					p = path + "." + key
				}
				if f, ok := fieldByTag(t, key); ok {
					walk(val, f.Type, p, depth+1)
				} else {
					ignored = append(ignored, p)
				}
			}
		}
	}
	walk(&doc, reflect.TypeOf(out), "", 0)
	slices.Sort(ignored)
	return slices.Compact(ignored), nil
}

// fieldByTag returns the field of struct type t whose yaml tag names key.
func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
