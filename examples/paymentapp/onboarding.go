package paymentapp

import (
	"net/http"
)

// Installation (CONTRACT.md §1). The merchant installs the app from Genstore's admin, and
// the merchant's browser arrives here:
//
//	GET /onboarding?shop=&shopId=&code=&timestamp=&hmac=
//
// The app verifies the signature, exchanges the single-use code for the shop's access
// token, checks that its card-gateway account works (here the account is the app's own,
// from its configuration, so "linking" it is checking the credentials), and tells Genstore
// the installation is ready to take payments: PUT /api/202412/app/account_authorize
// {"pay":{"ready":"true"}}. Until then Genstore sends it no payment.
func (a *App) handleOnboarding(w http.ResponseWriter, r *http.Request) {
	sp, _, ok := a.verified(w, r)
	if !ok {
		return
	}
	log := a.log.With("shop", sp.Shop, "shopId", sp.ShopID)
	code := sp.Query.Get("code")
	if code == "" {
		writePage(w, http.StatusBadRequest, "Installation failed", "The installation link has no code.")
		return
	}
	ctx := r.Context()
	token, scope, err := a.gs.exchangeCode(ctx, sp.Shop, code)
	if err != nil {
		log.Error("installation failed", "err", err)
		writePage(w, http.StatusBadGateway, "Installation failed", "Genstore did not accept the installation code. Start the installation again from the Genstore admin.")
		return
	}
	if a.bugs.on(BugStaleToken) {
		a.mu.Lock()
		if _, ok := a.firstTokens[sp.ShopID]; !ok {
			a.firstTokens[sp.ShopID] = token // BugStaleToken: the first installation's token, for good
		}
		a.mu.Unlock()
	}
	if err := a.store.PutInstallation(ctx, Installation{ShopID: sp.ShopID, Shop: sp.Shop, AccessToken: token, Scope: scope, InstalledAt: a.now()}); err != nil {
		log.Error("installation failed", "err", err)
		writePage(w, http.StatusInternalServerError, "Installation failed", "The app could not save the installation.")
		return
	}
	for _, env := range []Env{Sandbox, Live} {
		if !a.gw.configured(env) {
			continue
		}
		if err := a.gw.check(ctx, env); err != nil {
			log.Error("card gateway account check failed", "env", env, "err", err)
			writePage(w, http.StatusBadGateway, "Installation incomplete", "The card gateway did not accept the app's "+string(env)+" credentials.")
			return
		}
	}
	ready := callback{
		ShopID: sp.ShopID,
		Shop:   sp.Shop,
		Path:   accountAuthorizePath,
		Body:   map[string]map[string]string{"pay": {"ready": "true"}},
	}
	if err := a.deliver(ctx, ready, 3); err != nil {
		log.Error("account_authorize failed", "err", err)
		writePage(w, http.StatusBadGateway, "Installation incomplete", "Genstore did not take the account authorization. Try the installation again.")
		return
	}
	log.Info("installed and ready", "scope", scope)
	writePage(w, http.StatusOK, "Installed", "The payment app is installed on "+sp.Shop+" and ready to take card payments.")
}
