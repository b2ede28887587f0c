# Turnstone: the two commands are `make run` and `make test`.
JOBS ?= $(shell nproc)

.PHONY: all build run test unit fuzz bench bench-api clean deps install

all: build

deps:
	@./scripts/install-deps

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j$(JOBS)

run: build
	@./scripts/run-default build/turnstone

# Every test (unit and integration) under ASan and UBSan. The release
# build (what `make run` and `make bench` use, with _FORTIFY_SOURCE) is
# built first so that its warnings, errors here, are caught too.
test: build
	@cmake -S . -B build-asan -DTS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-asan -j$(JOBS)
	@cd build-asan && ctest --output-on-failure -j1

# Unit tests only (fast loop while developing).
unit: deps
	@cmake -S . -B build-asan -DTS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-asan -j$(JOBS)
	@cd build-asan && ctest --output-on-failure -R '^unit/'

bench: build
	@./scripts/install-deps --bench
	@./scripts/bench build/turnstone

# The API benchmark alone (also part of `make bench`).
bench-api: build
	@./scripts/install-deps --bench
	@./scripts/bench-api build/turnstone

FUZZ_SECONDS ?= 60
# The API body, admin JSON, config file, TCP framing and ICE URL targets
# run FUZZ_SHORT seconds each (so that they keep building and running);
# for a campaign run one at a time with -max_total_time (tests/fuzz/).
FUZZ_SHORT ?= 5
FUZZ_MORE = body admin config tcp iceurl proxy httpget
fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DTS_FUZZ=ON -DTS_SANITIZE=ON >/dev/null
	@cmake --build build-fuzz -j$(JOBS) --target fuzz_stun fuzz_jwt fuzz_turn \
		$(FUZZ_MORE:%=fuzz_%)
	@mkdir -p build-fuzz/corpus build-fuzz/corpus-jwt build-fuzz/corpus-turn \
		$(FUZZ_MORE:%=build-fuzz/corpus-%)
	@build-fuzz/fuzz_stun -max_total_time=$(FUZZ_SECONDS) -max_len=1500 build-fuzz/corpus tests/fuzz/seeds
	@build-fuzz/fuzz_jwt -max_total_time=$(FUZZ_SECONDS) -max_len=4200 build-fuzz/corpus-jwt tests/fuzz/seeds-jwt
	@build-fuzz/fuzz_turn -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build-fuzz/corpus-turn tests/fuzz/seeds-turn
	@build-fuzz/fuzz_body -max_total_time=$(FUZZ_SHORT) -max_len=1300 build-fuzz/corpus-body tests/fuzz/seeds-body
	@build-fuzz/fuzz_admin -max_total_time=$(FUZZ_SHORT) -max_len=4096 build-fuzz/corpus-admin tests/fuzz/seeds-admin
	@build-fuzz/fuzz_config -max_total_time=$(FUZZ_SHORT) -max_len=16384 build-fuzz/corpus-config tests/fuzz/seeds-config
	@build-fuzz/fuzz_tcp -max_total_time=$(FUZZ_SHORT) -max_len=4096 build-fuzz/corpus-tcp tests/fuzz/seeds-tcp
	@build-fuzz/fuzz_iceurl -max_total_time=$(FUZZ_SHORT) -max_len=300 build-fuzz/corpus-iceurl tests/fuzz/seeds-iceurl
	@build-fuzz/fuzz_proxy -max_total_time=$(FUZZ_SHORT) -max_len=1600 build-fuzz/corpus-proxy tests/fuzz/seeds-proxy
	@build-fuzz/fuzz_httpget -max_total_time=$(FUZZ_SHORT) -max_len=4096 build-fuzz/corpus-httpget tests/fuzz/seeds-httpget

# make install [DESTDIR=/staging] [PREFIX=/usr/local] [BIN=path]: the
# binary, man pages, example config, systemd unit (ExecStart pointing at
# this PREFIX) and the sysusers.d entry for its user. BIN installs an
# already built binary instead of building build/turnstone.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/turnstone
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
BIN ?=

install: $(if $(BIN),,build)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -m 0755 $(or $(BIN),build/turnstone) $(DESTDIR)$(BINDIR)/turnstone
	install -m 0644 docs/man/turnstone.8 $(DESTDIR)$(MANDIR)/man8/turnstone.8
	install -m 0644 docs/man/turnstone.conf.5 $(DESTDIR)$(MANDIR)/man5/turnstone.conf.5
	install -m 0644 packaging/turnstone.conf.example $(DESTDIR)$(DOCDIR)/turnstone.conf.example
	install -m 0644 packaging/turnstone.logrotate $(DESTDIR)$(DOCDIR)/turnstone.logrotate
	sed 's|/usr/bin/turnstone|$(BINDIR)/turnstone|g' packaging/turnstone.service \
		>$(DESTDIR)$(UNITDIR)/turnstone.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/turnstone.service
	install -m 0644 packaging/turnstone.sysusers $(DESTDIR)$(SYSUSERSDIR)/turnstone.conf

clean:
	rm -rf build build-asan build-fuzz build-clang
