// Package pgtest gives tests a PostgreSQL database of their own.
//
// Each call creates a database with a unique name (pspsim_test_<random>) and
// drops it when the test ends, so that parallel runs on one server never
// collide. The server is PSPSIM_TEST_POSTGRES when that is a URL, else
// postgres://postgres@127.0.0.1:5432/postgres. When no server answers the
// test is skipped with a message — unless PSPSIM_TEST_POSTGRES is set (CI
// sets it to 1), and then it fails: CI must never skip these tests silently.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Env is the variable that makes PostgreSQL tests compulsory.
const Env = "PSPSIM_TEST_POSTGRES"

// DefaultServer is the server tried when Env names none.
const DefaultServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Server returns the URL of the maintenance database the tests connect to
// first.
func Server() string {
	if v := os.Getenv(Env); strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://") {
		return v
	}
	return DefaultServer
}

// URL creates a fresh database and returns its URL; t.Cleanup drops it.
func URL(t testing.TB) string {
	t.Helper()
	server := Server()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", server)
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		if os.Getenv(Env) == "" {
			t.Skipf("PostgreSQL tests skipped: no server answers at %s and %s is unset (%v)", server, Env, err)
		}
		t.Fatalf("%s is set but PostgreSQL at %s does not answer: %v", Env, server, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "pspsim_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("%s: %v", server, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Store is one durable backend a test runs against: its name (a subtest's)
// and a function that makes a fresh one for the test and returns its
// --store URL.
type Store struct {
	Name string
	URL  func(t testing.TB) string
}

// Stores lists the durable backends every durable-store test ranges over:
// a SQLite file in the test's temporary folder, and a PostgreSQL database
// of its own (URL: skipped or failed as the package says).
func Stores() []Store {
	return []Store{
		{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "state.db") }},
		{"postgres", func(t testing.TB) string { return URL(t) }},
	}
}
