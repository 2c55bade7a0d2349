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

# Where the audit trail goes is read when the database opens: a change at run time is
# refused, not shown in force while the trail goes on into the old directory.
if grep -q "olcJpkiRepoAuditDir" <<<"$entry"; then
	out=$(printf 'dn: %s\nchangetype: modify\nreplace: olcJpkiRepoAuditDir\nolcJpkiRepoAuditDir: %s\n' "$odn" "$T" | cfgmod)
	t_match "olcJpkiRepoAuditDir is not changed at run time" "is read when the database opens" "$out"
	t_match "and the configuration still names the trail's directory" "olcJpkiRepoAuditDir: $DIR" \
		"$(cfg "(objectClass=olcJpkiRepoConfig)" olcJpkiRepoAuditDir)"
	out=$(printf 'dn: %s\nchangetype: modify\nadd: olcJpkiRepoAuditCheckpointKey\nolcJpkiRepoAuditCheckpointKey: pkcs11:token=x\n' "$odn" | cfgmod)
	t_match "nor is a checkpoint key added" "is read when the database opens" "$out"
else
	t_fail "the test repository has an audit trail"
fi

# The configuration's own ACL names the overlay's decision (dynacl/jpkiverifier); the overlay
# adds none that cn=config would not list, so olcAccess indexes name the rules they show.
dbdn=$(cfg "(olcSuffix=o=JPKI,c=JP)" dn | sed -n 's/^dn: //p')
acl() {
	ldapsearch -x -H "$INSTANCE_URI" -D cn=config -y "$T/cfgpw" -LLL -o ldif-wrap=no -b "$dbdn" -s base olcAccess |
		sed -n 's/^olcAccess: //p'
}
t_eq "olcAccess lists every rule of the database in slapd.conf, no hidden one" \
	"$(sed -n '/^database mdb/,/^database /p' "$DIR/conf/slapd.conf" | grep -c '^access to')" "$(acl | wc -l)"
t_match "the first is the CRL rule naming dynacl/jpkiverifier" "^\{0\}to attrs=certificateRevocationList +by +dynacl/jpkiverifier +write" "$(acl | head -1)"
anon=$(ldapsearch -x -H "$INSTANCE_URI" -LLL -b "$P1" -s base "certificateRevocationList;binary")
pub=$(repo_ldap_as "$DIR" publisher ldapsearch -LLL -b "$P1" -s base "certificateRevocationList;binary")
t_not "under cn=config, anonymous does not read the user CRL" grep -q "certificateRevocationList" <<<"$anon"
t_ok "under cn=config, the publisher does" grep -q "certificateRevocationList" <<<"$pub"

# Deleting a rule by its index deletes that rule: the Services rule, not its neighbour.
svc=$(acl | grep -in "to dn.subtree=\"$REPO_SERVICES_DN\"" | cut -d: -f1)
t_match "the Services rule is listed" "^[0-9]+$" "$svc"
out=$(printf 'dn: %s\nchangetype: modify\ndelete: olcAccess\nolcAccess: {%d}\n' "$dbdn" "$((svc - 1))" | cfgmod)
t_match "an olcAccess rule is deleted by its index" "modifying entry" "$out"
t_not "the Services rule is gone" grep -qi "to dn.subtree=\"$REPO_SERVICES_DN\"" <<<"$(acl)"
t_ok "the registry rule before it is not" grep -qi "to dn.subtree=\"$REPO_VERIFIER_BASE\"" <<<"$(acl)"
t_eq "anonymous still reads nothing of the registry" "" \
	"$(ldapsearch -x -H "$INSTANCE_URI" -LLL -b "$REPO_VERIFIER_BASE" "(objectClass=*)" dn 2>/dev/null | grep -v '^$')"

# With the CRL rule itself deleted (and "access to * by * read" left), the overlay still
# keeps user CRLs from whoever may not read them: entries, attrsonly, filters, compare, and
# no persistent search but for the repository's services.
out=$(printf 'dn: %s\nchangetype: modify\ndelete: olcAccess\nolcAccess: {0}\n' "$dbdn" | cfgmod)
t_not "the CRL rule is deleted" grep -q "dynacl/jpkiverifier" <<<"$(acl)"
anon() { ldapsearch -x -H "$INSTANCE_URI" -LLL "$@" 2>&1; }
t_not "without it, anonymous still gets no CRL value" grep -qi "certificateRevocationList" \
	<<<"$(anon -b "$P1" -s base "certificateRevocationList;binary")"
t_not "nor with all attributes" grep -qi "certificateRevocationList" <<<"$(anon -b "$P1" -s base)"
t_not "nor by object class" grep -qi "certificateRevocationList" <<<"$(anon -b "$P1" -s base @cRLDistributionPoint)"
t_not "nor its name (attrsonly)" grep -qi "certificateRevocationList" <<<"$(anon -A -b "$P1" -s base)"
t_eq "a filter on it matches nothing" "" "$(anon -b "$P1" -s base "(certificateRevocationList;binary=*)" dn)"
t_eq "nor does its negation reveal anything (as for an attribute nobody holds)" \
	"$(anon -b "$P1" -s base "(!(deltaRevocationList=*))" dn)" \
	"$(anon -b "$P1" -s base "(!(certificateRevocationList=*))" dn)"
out=$(timeout 10 ldapsearch -x -H "$INSTANCE_URI" -LLL -E '!sync=rp' -b "$P1" -s base 2>&1); rc=$?
t_match "a persistent search is refused, naming the rule" "rule no-persist: " "$out"
t_eq "as unwilling to perform (53)" 53 "$rc"
out=$(timeout 3 ldapsearch -x -H "$INSTANCE_URI" -D "cn=replicator,$REPO_SERVICES_DN" -y "$DIR/secrets/replicator.pw" \
	-LLL -E '!sync=rp' -b "$P1" -s base "certificateRevocationList;binary" 2>&1); rc=$?
t_eq "the replicator (a jpkirepo-reader) may search persistently (still running after 3 s)" 124 "$rc"
t_ok "and gets the CRL" grep -q "certificateRevocationList" <<<"$out"
t_ok "the publisher still reads it" grep -q "certificateRevocationList" \
	<<<"$(repo_ldap_as "$DIR" publisher ldapsearch -LLL -b "$P1" -s base "certificateRevocationList;binary")"

t_done
