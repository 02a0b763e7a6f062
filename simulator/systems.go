package simulator

import (
	"context"

	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/env"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/vmgateway"
)

// The constructors return the System interface, so New can build them
// concurrently into one list.

func genstoreNew(ctx context.Context, e *env.Env) (System, error) { return genstore.New(ctx, e) }

func codepayNew(ctx context.Context, e *env.Env, o codepay.Options) (System, error) {
	return codepay.New(ctx, e, o)
}

func vmgatewayNew(ctx context.Context, e *env.Env) (System, error) { return vmgateway.New(ctx, e) }
