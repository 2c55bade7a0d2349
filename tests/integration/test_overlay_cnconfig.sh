#!/usr/bin/env bash
# The overlay under cn=config: slaptest converts the slapd.conf directives into olcJpkiRepo*
# attributes, slapd runs from slapd.d, the attributes read back, and a change made over LDAP
# to cn=config takes effect on the next write without a restart.
set -u
. "$(dirname "$0")/../lib/repo_env.sh"
P1="cn=121002,ou=CRL Distribution Points,$REPO_CA_DN"

# Build the instance from slapd.conf, load the DIT, then move it to cn=config.
repo_init "$DIR" "$PKI" || { t_fail "repository starts"; t_done; exit 1; }
instance_stop "$DIR"
eval "$(instance_env "$DIR")"
CFGPW=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
(umask 077; printf '%s' "$CFGPW" > "$T/cfgpw")
sed -i "s|^database monitor|database config\nrootdn \"cn=config\"\nrootpw $(slappasswd -s "$CFGPW")\n\ndatabase monitor|" \
	"$DIR/conf/slapd.conf"
mkdir -p "$DIR/slapd.d"
t_ok "slaptest converts the configuration to cn=config" slaptest -f "$DIR/conf/slapd.conf" -F "$DIR/slapd.d"

setsid /usr/sbin/slapd -F "$DIR/slapd.d" -h "$INSTANCE_URI/" -d 0 </dev/null >/dev/null 2>>"$DIR/run/slapd.log" &
for _ in $(seq 1 100); do
	ldapsearch -x -H "$INSTANCE_URI" -b "" -s base >/dev/null 2>&1 && break
	sleep 0.1
done
t_cleanup_add "kill \$(cat '$DIR/run/slapd.pid' 2>/dev/null) 2>/dev/null"
cfg() { ldapsearch -x -H "$INSTANCE_URI" -D cn=config -y "$T/cfgpw" -LLL -o ldif-wrap=no -b cn=config "$@"; }
cfgmod() { ldapmodify -x -H "$INSTANCE_URI" -D cn=config -y "$T/cfgpw" 2>&1; }

entry=$(cfg "(objectClass=olcJpkiRepoConfig)")
t_match "the overlay's cn=config entry exists" "olcOverlay: \{[0-9]+\}jpkirepo" "$entry"
t_match "olcJpkiRepoCaDN" "olcJpkiRepoCaDN: ou=Chiba-ken,o=JPKI,c=JP" "$entry"
t_match "olcJpkiRepoTrustAnchor" "olcJpkiRepoTrustAnchor: $PKI/ca/gen1.pem" "$entry"
t_match "olcJpkiRepoPublisher" "olcJpkiRepoPublisher: cn=publisher" "$entry"
t_match "olcJpkiRepoMaxValidity defaults to 72 h" "olcJpkiRepoMaxValidity: 259200" "$entry"
odn=$(printf '%s\n' "$entry" | sed -n 's/^dn: //p')

t_ok "CA certificates published" repo_publish_ca "$DIR" "$PKI"
repo_issue "$DIR" "$PKI" gen1 "$T/a" --crl-number 10 >/dev/null
t_match "a 72 h CRL is accepted" "accepted" "$(repo_publish "$DIR" publisher "$T/a/121002.crl")"

out=$(printf 'dn: %s\nchangetype: modify\nreplace: olcJpkiRepoMaxValidity\nolcJpkiRepoMaxValidity: 3600\n' "$odn" | cfgmod)
t_match "olcJpkiRepoMaxValidity is changed over LDAP" "modifying entry" "$out"
repo_issue "$DIR" "$PKI" gen1 "$T/b" --crl-number 11 >/dev/null
t_match "the new maximum applies at once" "rule \(g\) validity: .* the maximum is 3600 s" \
	"$(repo_publish "$DIR" publisher "$T/b/121002.crl")"

out=$(printf 'dn: %s\nchangetype: modify\nadd: olcJpkiRepoTrustAnchor\nolcJpkiRepoTrustAnchor: %s\n' \
	"$odn" "$PKI/users/good/$(ls "$PKI/users/good" | head -1)" | cfgmod)
t_match "a non-CA certificate is refused as a trust anchor" "not a CA certificate" "$out"
t_match "and the configuration keeps the one anchor" "olcJpkiRepoTrustAnchor: $PKI/ca/gen1.pem$" \
	"$(cfg "(objectClass=olcJpkiRepoConfig)" olcJpkiRepoTrustAnchor)"

# The overlay adds its ACL on the CRL attribute at db_open (not shown in olcAccess).
anon=$(ldapsearch -x -H "$INSTANCE_URI" -LLL -b "$P1" -s base "certificateRevocationList;binary")
pub=$(repo_ldap_as "$DIR" publisher ldapsearch -LLL -b "$P1" -s base "certificateRevocationList;binary")
t_not "under cn=config, anonymous does not read the user CRL" grep -q "certificateRevocationList" <<<"$anon"
t_ok "under cn=config, the publisher does" grep -q "certificateRevocationList" <<<"$pub"

t_done
