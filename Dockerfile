# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# podwall image for the DaemonSet in deploy/: the agent (podwall, with its BPF
# object built in as a skeleton) and the chained CNI plugin (podwall-cni).
#
#   docker build -t localhost/podwall:0.1.0 .
#   docker save localhost/podwall:0.1.0 | sudo k3s ctr images import -
#   kubectl apply -k deploy/
#   docker run --rm localhost/podwall:0.1.0 version   (or: ... podwall version)
#
# Builder: Debian 12 with the -dev packages (the same list as tools/install-deps.sh,
# build part only). Runtime: Debian 12 slim with the shared libraries only.

FROM debian:12 AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
	make gcc clang llvm libc6-dev linux-libc-dev pkg-config \
	libbpf-dev bpftool libelf-dev zlib1g-dev \
	libldns-dev libjansson-dev libyaml-dev libmicrohttpd-dev libcurl4-openssl-dev libmnl-dev \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY include/ include/
COPY bpf/ bpf/
COPY lib/ lib/
COPY agent/ agent/
COPY cli/ cli/
COPY cni/ cni/
# A build directory of our own: nothing from a host build/ can leak in.
RUN make BUILD=/out -j"$(nproc)" all \
	&& strip /out/podwall /out/podwall-cni \
	&& /out/podwall version

FROM debian:12-slim
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
	libbpf1 libelf1 zlib1g libldns3 libjansson4 libyaml-0-2 libmicrohttpd12 libcurl4 libmnl0 \
	ca-certificates \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /out/podwall /out/podwall-cni /usr/local/bin/
# Fail the build, not the node, if a runtime library is missing.
RUN podwall version && podwall podwall version && ! ldd /usr/local/bin/podwall /usr/local/bin/podwall-cni | grep -q 'not found'
LABEL org.opencontainers.image.title="podwall" \
	org.opencontainers.image.description="Default-deny egress for Kubernetes pods: hostname, CIDR and port allowlists enforced by TC BPF" \
	org.opencontainers.image.licenses="GPL-2.0-only OR BSD-2-Clause"
ENTRYPOINT ["/usr/local/bin/podwall"]
CMD ["version"]
