#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# certs.sh: certificates for fleets without a PKI of their own, made with the openssl command:
# a CA, collector certificates (for servers: TLS server authentication, the names and addresses
# agents dial) and agent certificates (TLS client authentication, one per host).
#
#   certs.sh DIR ca                        DIR/ca.crt and DIR/ca.key (a new CA; refuses to
#                                          replace one)
#   certs.sh DIR collector NAME [SAN...]   DIR/NAME.crt and DIR/NAME.key, for NAME and each SAN
#                                          (a DNS name or an IP address), signed by DIR's CA
#   certs.sh DIR agent NAME                DIR/NAME.crt and DIR/NAME.key, a client certificate
#                                          whose subject is CN=NAME, signed by DIR's CA
#
# Keys are EC P-256, written mode 600 (the daemons refuse keys others may read); certificates
# 644. Days valid: FS_CERT_DAYS (default 825; the CA 3650). A certificate that exists is
# replaced (a renewal): the CA's key stays, so agents and collectors keep trusting each other.
# Then, for instance:
#   fleetstat-collector --tls-cert DIR/c1.crt --tls-key DIR/c1.key --tls-client-ca DIR/ca.crt
#   fleetstat-agent --collector c1.example:7400 --tls-ca DIR/ca.crt \
#       --tls-cert DIR/web1.crt --tls-key DIR/web1.key
set -euo pipefail

usage() { sed -n '4,12p' "$0" >&2; exit 2; }
die() { echo "certs.sh: $*" >&2; exit 1; }

[ $# -ge 2 ] || usage
dir=$1 what=$2
shift 2
command -v openssl >/dev/null || die "needs the openssl command (Debian: openssl)"
days=${FS_CERT_DAYS:-825}
[[ $days =~ ^[0-9]+$ ]] && [ "$days" -ge 1 ] || die "FS_CERT_DAYS: a number of days, not '$days'"
umask 077
mkdir -p "$dir"

# A name as it may appear in a certificate and a file name: letters, digits, . - _
check_name() {
	[[ $1 =~ ^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$ ]] || die "'$1': a host name (letters, digits, . - _)"
}

# new_key FILE: an EC P-256 key, mode 600.
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }

# sign NAME EXTFILE: DIR/NAME.crt for DIR/NAME.key, signed by the CA with the extensions in EXTFILE.
sign() {
	local csr
	[ -f "$dir/ca.key" ] && [ -f "$dir/ca.crt" ] || die "no CA in $dir (certs.sh $dir ca first)"
	csr=$(mktemp)
	openssl req -new -key "$dir/$1.key" -subj "/O=fleetstat/CN=$1" -out "$csr"
	openssl x509 -req -in "$csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
		-days "$days" -sha256 -extfile "$2" -out "$dir/$1.crt" 2>/dev/null ||
		{ rm -f "$csr"; die "signing $1 failed"; }
	rm -f "$csr"
	chmod 644 "$dir/$1.crt"
	echo "$dir/$1.crt $dir/$1.key"
}

case $what in
ca)
	[ $# -eq 0 ] || usage
	[ ! -e "$dir/ca.key" ] || die "$dir/ca.key exists: a new CA would cut off every certificate it signed"
	new_key "$dir/ca.key"
	openssl req -x509 -new -key "$dir/ca.key" -subj "/O=fleetstat/CN=fleetstat CA" \
		-days "${FS_CERT_DAYS:-3650}" -sha256 -out "$dir/ca.crt" \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
		-addext "keyUsage=critical,keyCertSign,cRLSign"
	chmod 644 "$dir/ca.crt"
	echo "$dir/ca.crt $dir/ca.key"
	;;
collector | agent)
	[ $# -ge 1 ] || usage
	name=$1
	shift
	check_name "$name"
	[ "$what" = collector ] || [ $# -eq 0 ] || usage
	ext=$(mktemp)
	trap 'rm -f "$ext"' EXIT
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature"
		echo "subjectKeyIdentifier=hash"
		echo "authorityKeyIdentifier=keyid"
		if [ "$what" = collector ]; then
			echo "extendedKeyUsage=serverAuth"
			san=""
			for n in "$name" "$@"; do
				[ -z "$san" ] || san+=","
				if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then
					san+="IP:$n"
				else
					check_name "$n"
					san+="DNS:$n"
				fi
			done
			echo "subjectAltName=$san"
		else
			echo "extendedKeyUsage=clientAuth"
		fi
	} >"$ext"
	new_key "$dir/$name.key"
	sign "$name" "$ext"
	;;
*)
	usage
	;;
esac
