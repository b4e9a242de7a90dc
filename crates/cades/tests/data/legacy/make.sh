#!/bin/sh
# Regenerates the legacy SHA-1 fixtures (test keys, deleted at the end):
# a SHA-1 root, a SHA-1 intermediate and a SHA-1-signed end entity with fixed dates,
# and `openssl cms` signatures over doc.txt with SHA-1, with and without signed
# attributes, and an RSA-1024 signer. Run from this directory; needs OpenSSL 3.
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/ca.cnf" <<CNF
[ca]
default_ca = ca
[ca]
dir = $work
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
organizationName = optional
countryName = optional
[root]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[sub]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ee]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
CNF
: > "$work/index.txt"
echo 01 > "$work/serial"
for k in root sub ee; do  # every key is deleted at the end
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $k.key 2>/dev/null
done
ca() { openssl ca -batch -config "$work/ca.cnf" -notext -md sha1 "$@" 2>/dev/null; }
openssl req -new -key root.key -subj "/C=VN/O=Kyso Test/CN=Legacy SHA-1 Root" -out "$work/root.csr"
ca -selfsign -keyfile root.key -in "$work/root.csr" -extensions root \
   -startdate 20100101000000Z -enddate 20350101000000Z -out root.pem
openssl req -new -key sub.key -subj "/C=VN/O=Kyso Test/CN=Legacy SHA-1 Issuing CA" -out "$work/sub.csr"
ca -cert root.pem -keyfile root.key -in "$work/sub.csr" -extensions sub \
   -startdate 20110101000000Z -enddate 20330101000000Z -out sub.pem
openssl req -new -key ee.key -subj "/C=VN/O=Kyso Test/CN=Nguyen Van Legacy" -out "$work/ee.csr"
ca -cert sub.pem -keyfile sub.key -in "$work/ee.csr" -extensions ee \
   -startdate 20120101000000Z -enddate 20300101000000Z -out ee.pem
printf 'Cong van 2014 ky bang SHA-1\n' > doc.txt
openssl cms -sign -binary -md sha1 -noattr -signer ee.pem -inkey ee.key -certfile sub.pem \
   -outform DER -in doc.txt -out sha1-noattr.p7s
openssl cms -sign -binary -md sha1 -signer ee.pem -inkey ee.key -certfile sub.pem \
   -outform DER -in doc.txt -out sha1.p7s
# An RSA-1024 signer (SHA-1 certificate), signing with SHA-256.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out ee1024.key 2>/dev/null
openssl req -new -key ee1024.key -subj "/C=VN/O=Kyso Test/CN=Tran Van Khoa Cu" -out "$work/ee1024.csr"
ca -cert sub.pem -keyfile sub.key -in "$work/ee1024.csr" -extensions ee \
   -startdate 20120101000000Z -enddate 20300101000000Z -out ee1024.pem
openssl cms -sign -binary -md sha256 -signer ee1024.pem -inkey ee1024.key -certfile sub.pem \
   -outform DER -in doc.txt -out rsa1024.p7s
rm -f root.key sub.key ee.key ee1024.key
