package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pspsim/pspsim/internal/godog"
	"github.com/pspsim/pspsim/simulator/host"

	"github.com/pspsim/pspsim/scenario"
	"github.com/pspsim/pspsim/simulator"
)

const scenarioUsage = `Usage: pspsim scenario [flags] PATH...

Runs Gherkin feature files (files or directories) with pspsim's step library
(pspsim steps prints it) and prints the godog summary. By default each
scenario gets a fresh in-process simulator with a simulated clock; with
--target the scenarios run one after the other against a running pspsim,
reset before each.

Exit status: 0 all passed, 1 a scenario failed, 2 bad usage.

Flags:
`

// runScenarios is `pspsim scenario`.
func runScenarios(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("scenario", scenarioUsage, stderr)
	target := fs.String("target", "", "base URL of a running pspsim (started with --clock=sim for clock steps); default: in process")
	format := fs.String("format", "progress", formatHelp)
	tags := fs.String("tags", "", "run only scenarios matching this tag expression, e.g. '@faults && ~@slow'")
	concurrency := fs.Int("concurrency", 1, "scenarios run at once (in process only; use progress, junit or cucumber output above 1)")
	faultsPath := fs.String("faults", "", "in process: a fault rules file every scenario's simulator starts with")
	configPath := fs.String("config", "", "in process: a config file every scenario's simulator starts with")
	colors := fs.Bool("colors", false, "colour the output")
	adminToken := adminTokenFlag(fs, "with --target: its admin token")
	namespace := fs.String("namespace", "", "with --target: run in a namespace of that server — NAME (created if missing, kept, reset before each scenario), or auto: each scenario in a fresh one, deleted after it (then --concurrency works against --target too)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	paths := fs.Args()
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "pspsim scenario: give at least one feature file or directory")
		fs.Usage()
		return 2
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			fmt.Fprintf(stderr, "pspsim scenario: %v\n", err)
			return 2
		}
	}
	var factory scenario.Factory
	if *namespace != "" && *target == "" {
		fmt.Fprintln(stderr, "pspsim scenario: --namespace needs --target")
		return 2
	}
	if *target != "" {
		if (*concurrency > 1 && *namespace != "auto") || *faultsPath != "" || *configPath != "" {
			fmt.Fprintln(stderr, "pspsim scenario: --faults and --config apply in process only (against --target start pspsim serve with them); --concurrency against --target needs --namespace auto")
			return 2
		}
		switch *namespace {
		case "":
			factory = scenario.Remote(*target, adminToken())
		case "auto":
			factory = scenario.RemoteNamespaces(*target, adminToken())
		default:
			url, err := ensureNamespace(ctx, *target, adminToken(), *namespace)
			if err != nil {
				fmt.Fprintf(stderr, "pspsim scenario: %v\n", err)
				return 1
			}
			factory = scenario.Remote(url, adminToken())
		}
	} else {
		var rules, config []byte
		if _, err := readFlagFiles(flagFile{"--faults", *faultsPath, &rules}, flagFile{"--config", *configPath, &config}); err != nil {
			fmt.Fprintf(stderr, "pspsim scenario: %v\n", err)
			return 2
		}
		var opts []func(*simulator.Options)
		if *faultsPath != "" {
			opts = append(opts, func(o *simulator.Options) { o.Faults = rules })
		}
		if *configPath != "" {
			opts = append(opts, func(o *simulator.Options) { o.Config = config })
		}
		factory = scenario.InProcess(nil, opts...)
	}
	if *concurrency < 1 {
		*concurrency = 1
	}
	suite := godog.TestSuite{
		Name:                "pspsim",
		ScenarioInitializer: scenario.Initializer(factory),
		Options: &godog.Options{
			Format:         *format,
			Tags:           *tags,
			Paths:          paths,
			Output:         stdout,
			Strict:         true,
			Concurrency:    *concurrency,
			NoColors:       !*colors,
			DefaultContext: ctx,
		},
	}
	return suite.Run()
}

// ensureNamespace returns the base URL of the namespace name on target,
// creating it with a simulated clock when it does not exist yet.
func ensureNamespace(ctx context.Context, target, token, name string) (string, error) {
	ns, err := host.CreateRemote(ctx, target, token, host.RemoteSpec{Name: name, Clock: "sim"})
	if err == nil {
		return ns.URL, nil
	}
	if strings.Contains(err.Error(), ": 409 ") {
		return strings.TrimRight(target, "/") + host.PathPrefix + name, nil
	}
	return "", err
}
