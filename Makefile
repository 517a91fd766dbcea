# `make test` runs every test of the project on a fresh machine.
DEBS := mosquitto-clients tmux g++ make libcjson-dev libmosquitto-dev libssl-dev doctest-dev \
        clang libclang-rt-14-dev g++-multilib libcjson-dev:i386 awscli python3-botocore \
        libnotify-bin dbus-daemon python3-dbus python3-gi

.PHONY: test deps go-test firmware-test bench build

test: deps firmware-test go-test

# Node.js and npm run AWS's JavaScript device SDKs in e2e/sdk; any install
# on PATH will do, else Debian's.
deps:
	@scripts/ensure-debs.sh $(DEBS)
	@command -v node >/dev/null && command -v npm >/dev/null || scripts/ensure-debs.sh nodejs npm

build:
	go build -ldflags "-X github.com/iotwatch/iotwatch/cli.version=$$(git describe --always --dirty 2>/dev/null || echo devel)" -o bin/iotwatch .

go-test: build
	go vet ./...
	go test -race -count=1 -timeout 15m ./...

firmware-test:
	$(MAKE) -C firmware -j$$(nproc) test

bench:
	bench/run.sh
