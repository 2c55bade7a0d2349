#!/usr/bin/env bash
# Who reads user CRLs (CPS 2-6-3, 2-8-3, 4-4-4-5), against the real slapd:
#  - the matrix of identities x operations: allowed identities read them, every other one gets
#    exactly what anonymous gets, and nobody else learns whether a CRL exists;
#  - CA certificates, cross pairs and the ARL stay open to anyone;
#  - writes: only the publisher writes CRLs, only the operator the registry, verifiers nothing;
#    a verifier's write under an assertion control on the CRL gets the same answer for a
#    partition with a CRL as without, the rootdn's and the publisher's still test it;
#  - a suspension applies to the next operation on a connection already bound;
#  - SASL EXTERNAL with a registered and an unregistered client certificate;
#  - jpki verifier's refusals, the usage errors before any server is started;
#  - the bind defaults of crl publish and ca publish from the environment, options winning;
#  - the agreement period to the second (slapd under a frozen libfaketime clock);
#  - 200+ generated filter and attribute-list combinations from anonymous and from a suspended
#    verifier: never a CRL byte, never a difference from the same search on deltaRevocationList.
set -u
. "$(dirname "$0")/../lib/repo_env.sh"
S=$DIR/secrets
CDP="ou=CRL Distribution Points,$REPO_CA_DN"
P1="cn=121002,$CDP"
VB=$REPO_VERIFIER_BASE

# --- jpki verifier: usage errors, named, status 2, before any connection ----------------------
# No server runs yet, and none listens on NOWHERE: a connection would be status 1.
NOWHERE=ldap://127.0.0.1:1
vusage() { # NAME TEXT ARGS…: jpki verifier ARGS is a usage error (2) whose message holds TEXT
	local name=$1 want=$2 out rc
	shift 2
	out=$(env -u JPKI_LDAP_URI -u JPKI_OPERATOR_DN -u JPKI_OPERATOR_PASSWORD_FILE "$JPKI_BUILDDIR/tools/jpki" verifier "$@" 2>&1) &&
		rc=0 || rc=$?
	if [ "$rc" = 2 ] && [[ $out == *"$want"* ]]; then
		t_pass "$name"
	else
		t_fail "$name" "exit $rc, wanted 2 and '$want'"
		_t_show "$out"
	fi
}
ADD=(add --id r --type signature-verifier --org R --start 2026-01-01T00:00:00Z --end 2028-01-01T00:00:00Z
	--method ldap -H "$NOWHERE")
vusage "no subcommand" "jpki verifier: a subcommand is needed"
vusage "an unknown subcommand is named" "jpki verifier: no subcommand 'frob'" frob -H "$NOWHERE"
vusage "add without options names --id" "--id, --type and --org are required (missing: --id)" add -H "$NOWHERE"
vusage "add without --org" "(missing: --org)" "${ADD[@]/--org/--mail}"
vusage "add with an unknown --type" "--type 'verifier': signature-verifier or group-signature-verifier" \
	"${ADD[@]/signature-verifier/verifier}"
vusage "add without --end" "the agreement period needs --start and --end" "${ADD[@]:0:9}" --method ldap -H "$NOWHERE"
vusage "add without --method" "--method is required" "${ADD[@]:0:11}" -H "$NOWHERE"
vusage "add with a reversed period names the rule" "rule registry-values: " "${ADD[@]}" --end 2025-01-01T00:00:00Z
vusage "add with a DN special character in the id" "id 'a,b' must be plain text" "${ADD[@]}" --id a,b
vusage "add with an operand" "jpki verifier add: unexpected argument 'extra'" "${ADD[@]}" extra
for opt in "--id x" "--type signature-verifier" "--org O" "--start 2026-01-01T00:00:00Z" \
	"--end 2026-01-01T00:00:00Z" "--method ldap" "--cert $PKI/verifiers/signature.pem" "--mail a@b" "--phone 1" \
	"--verifier-password-file /dev/null"; do
	# shellcheck disable=SC2086
	vusage "list refuses ${opt%% *} (add's), not ignores it" "jpki verifier list: ${opt%% *} is an option of verifier add only" \
		list $opt -H "$NOWHERE"
done
vusage "suspend refuses add's options" "jpki verifier suspend: --org is an option of verifier add only" \
	suspend x --org O -H "$NOWHERE"
vusage "show refuses an abbreviated add option by its name" "jpki verifier show: --method is an option of verifier add only" \
	show x --meth ldap -H "$NOWHERE"
vusage "list with an operand" "jpki verifier list: unexpected argument 'x'" list x -H "$NOWHERE"
vusage "show without an id" "jpki verifier show: give one verifier id" show -H "$NOWHERE"
vusage "terminate with two ids" "give one verifier id (unexpected argument 'b')" terminate a b -H "$NOWHERE"
vusage "no server" "jpki verifier: no LDAP server (--uri or \$JPKI_LDAP_URI)" list
out=$(env -u JPKI_OPERATOR_DN JPKI_LDAP_URI= "$JPKI_BUILDDIR/tools/jpki" verifier list 2>&1) && rc=0 || rc=$?
t_match "an empty JPKI_LDAP_URI is no server: usage (2)" "no LDAP server.*rc=2" "$out rc=$rc"
out=$(env -u JPKI_OPERATOR_DN "$JPKI_BUILDDIR/tools/jpki" verifier list -H "$NOWHERE" 2>&1) && rc=0 || rc=$?
t_match "control: a good command line does connect (and fails, 1)" "Can't contact LDAP server.*rc=1" "$out rc=$rc"
h=$("$JPKI_BUILDDIR/tools/jpki" verifier --help)
for o in id type org start end method cert mail phone verifier-password-file base; do
	t_match "verifier --help describes --$o on a line of its own" $'(^|\n)  --'"$o"' [^ ]+( +[a-z(]|\n +[a-z])' "$h"
done

repo_init "$DIR" "$PKI" || { t_fail "repository starts"; t_done; exit 1; }
eval "$(instance_env "$DIR")"
LDAPS=$(repo_ldaps_uri "$DIR")
repo_publish_ca "$DIR" "$PKI" >/dev/null
repo_issue "$DIR" "$PKI" gen1 "$T/g1" >/dev/null
repo_issue "$DIR" "$PKI" gen2 "$T/g2" >/dev/null
repo_publish "$DIR" publisher "$T/g1" "$T/g2" >/dev/null
t_ok "the demo verifiers are registered" repo_add_verifiers "$DIR" "$PKI"
# A verifier allowed only OCSP, and a bound entry that is no verifier at all.
(umask 077; printf 'ocsp-only-pw' > "$S/verifier-ocsponly.pw"; printf 'stranger-pw' > "$S/stranger.pw")
t_ok "an ocsp-only verifier is registered" repo_jpki_operator "$DIR" add --id ocsponly --type signature-verifier \
	--org "OCSP only" --start 2020-01-01T00:00:00Z --end 2099-01-01T00:00:00Z --method ocsp \
	--verifier-password-file "$S/verifier-ocsponly.pw"
printf 'dn: cn=stranger,%s\nobjectClass: organizationalRole\nobjectClass: jpkiService\ncn: stranger\n' "$REPO_CA_DN" |
	instance_ldap "$DIR" ldapadd >/dev/null
instance_ldap "$DIR" ldappasswd -T "$S/stranger.pw" "cn=stranger,$REPO_CA_DN" >/dev/null

# as IDENTITY ldapsearch ARGS…: IDENTITY is anon, root, a service, a verifier or stranger.
as() {
	local who=$1
	shift
	case $who in
	anon) ldapsearch -x -H "$INSTANCE_URI" "$@" ;;
	root) instance_ldap "$DIR" ldapsearch "$@" ;;
	publisher|operator|replicator|responder) repo_ldap_as "$DIR" "$who" ldapsearch "$@" ;;
	stranger) ldapsearch -x -H "$INSTANCE_URI" -D "cn=stranger,$REPO_CA_DN" -y "$S/stranger.pw" "$@" ;;
	*) ldapsearch -x -H "$INSTANCE_URI" -D "uid=$who,$VB" -y "$S/verifier-$who.pw" "$@" ;;
	esac
}
crl_values() { as "$1" -LLL -o ldif-wrap=no -b "$P1" -s base "${@:2}" 2>&1 | grep -c '^certificateRevocationList'; }

# --- the matrix ------------------------------------------------------------------------------
allowed="root publisher operator replicator responder signature group"
refused="anon suspended expired ocsponly stranger"
for who in $allowed; do
	t_eq "$who reads both user CRLs" 2 "$(crl_values "$who" "certificateRevocationList;binary")"
	t_eq "$who reads them with *" 2 "$(crl_values "$who" '*')"
done
queries=(
	"-b $P1 -s base certificateRevocationList;binary"
	"-b $P1 -s base *"
	"-b $P1 -s base * +"
	"-b $P1 -s base -A certificateRevocationList;binary"
	"-b $P1 -s base +"
	"-b $CDP -s one (certificateRevocationList;binary=*) dn"
	"-b $CDP -s one (!(certificateRevocationList;binary=*)) dn"
	"-b $CDP -s one (certificateRevocationList=*) dn"
	"-b $CDP -s sub -E pr=7/noprompt (cn=12*) certificateRevocationList;binary"
	"-b $REPO_CA_DN -s base authorityRevocationList;binary cACertificate;binary crossCertificatePair;binary"
)
for q in "${queries[@]}"; do
	# shellcheck disable=SC2086
	base=$(as anon -LLL -o ldif-wrap=no $q 2>&1)
	t_not "anonymous gets no user CRL: $q" grep -q '^certificateRevocationList' <<<"$base"
	for who in suspended expired ocsponly stranger; do
		# shellcheck disable=SC2086
		t_eq "$who gets exactly what anonymous gets: $q" "$base" "$(as "$who" -LLL -o ldif-wrap=no $q 2>&1)"
	done
done
ca=$(as anon -LLL -o ldif-wrap=no -b "$REPO_CA_DN" -s base authorityRevocationList\;binary cACertificate\;binary crossCertificatePair\;binary)
t_eq "anyone reads the CA certificates (4)" 4 "$(grep -c '^cACertificate;binary' <<<"$ca")"
t_eq "anyone reads the cross-certificate pairs (2)" 2 "$(grep -c '^crossCertificatePair;binary' <<<"$ca")"
t_eq "anyone reads the ARLs (2)" 2 "$(grep -c '^authorityRevocationList;binary' <<<"$ca")"
# A CRL value, to find it in what others get.
value=$(as root -LLL -o ldif-wrap=no -b "$P1" -s base certificateRevocationList\;binary | sed -n 's/^certificateRevocationList;binary:: //p' | head -1)
# A compare on the CRL itself gets inappropriateMatching from slapd for anyone (the schema
# gives it no equality rule); what a compare can tell is the CRL's presence, through an
# assertion control (RFC 4528) on it. The signature verifier learns it; the others get the
# answer of an attribute nobody holds.
cmp() { # WHO ATTR: compare P1's cn under an assertion that ATTR is present
	local id=(-x -H "$INSTANCE_URI")
	case $1 in
	anon) ;;
	*) id+=(-D "uid=$1,$VB" -y "$S/verifier-$1.pw") ;;
	esac
	ldapcompare "${id[@]}" -e "assert=($2=*)" "$P1" "cn:121002" 2>&1
}
t_eq "the signature verifier's compare under an assertion that the CRL is there: TRUE" \
	TRUE "$(cmp signature 'certificateRevocationList;binary')"
nobody=$(cmp anon 'deltaRevocationList;binary')
t_match "... an assertion on an attribute nobody holds fails" "Assertion Failed" "$nobody"
for who in anon suspended expired ocsponly; do
	t_eq "compare by $who under an assertion on the CRL answers as for an attribute nobody holds" \
		"$nobody" "$(cmp "$who" 'certificateRevocationList;binary')"
done

# --- writes ----------------------------------------------------------------------------------
mod() { # IDENTITY-ARGS… -- LDIF on stdin
	ldapmodify -x -H "$INSTANCE_URI" "$@" 2>&1
}
ldif_crl=$(printf 'dn: %s\nchangetype: modify\nreplace: certificateRevocationList;binary\ncertificateRevocationList;binary:< file://%s\n' "$P1" "$T/g1/121002.crl")
out=$(mod -D "uid=signature,$VB" -y "$S/verifier-signature.pw" <<<"$ldif_crl")
t_match "a verifier cannot write a CRL" "Insufficient access" "$out"
out=$(mod -D "uid=suspended,$VB" -y "$S/verifier-suspended.pw" <<<"$(printf 'dn: uid=suspended,%s\nchangetype: modify\nreplace: jpkiVerifierStatus\njpkiVerifierStatus: active\n' "$VB")")
t_match "a suspended verifier cannot reactivate itself" "Insufficient access" "$out"
out=$(mod -D "$REPO_PUBLISHER_DN" -y "$S/publisher.pw" <<<"$(printf 'dn: uid=suspended,%s\nchangetype: modify\nreplace: jpkiVerifierStatus\njpkiVerifierStatus: active\n' "$VB")")
t_match "the publisher cannot change the registry" "Insufficient access" "$out"
openssl x509 -in "$PKI/ca/gen1.pem" -outform DER -out "$T/gen1.der"
out=$(mod -D "$REPO_OPERATOR_DN" -y "$S/operator.pw" <<<"$(printf 'dn: %s\nchangetype: modify\nreplace: cACertificate;binary\ncACertificate;binary:< file://%s\n' "$REPO_CA_DN" "$T/gen1.der")")
t_match "the operator cannot change the CA entry's certificates" "Insufficient access" "$out"
out=$(mod -D "$REPO_OPERATOR_DN" -y "$S/operator.pw" <<<"$ldif_crl")
t_match "the operator cannot write a CRL" "Insufficient access" "$out"
out=$(mod -D "$REPO_PUBLISHER_DN" -y "$S/publisher.pw" <<<"$(printf 'dn: %s\nchangetype: modify\nadd: deltaRevocationList;binary\ndeltaRevocationList;binary:< file://%s\n' "$P1" "$T/g1/121002.crl")")
t_match "nobody can store deltaRevocationList" "deltaRevocationList is not used" "$out"

# A write's assertion control (RFC 4528) is tested by back-mdb before the write's ACLs: on the
# CRL, its failure would tell a verifier (who may not write) whether a partition holds a CRL,
# unrecorded. For everyone, the rootdn and the publisher too (no read is recorded for it
# either), it is an assertion on an attribute nobody holds.
spare=$(spare_partition "$DIR")
write_as() { # WHO OP DN ASSERTION: the answer (without the DN ldapmodify names) and the status
	local who=$1 op=$2 dn=$3 a=$4 id=(-x -H "$INSTANCE_URI")
	case $who in
	root) id=(-x -H "$INSTANCE_URI" -D "$INSTANCE_ROOTDN" -y "$INSTANCE_ROOTPW_FILE") ;;
	publisher) id+=(-D "$REPO_PUBLISHER_DN" -y "$S/publisher.pw") ;;
	*) id+=(-D "uid=$who,$VB" -y "$S/verifier-$who.pw") ;;
	esac
	case $op in
	modify) printf 'dn: %s\nchangetype: modify\nreplace: jpkiMunicipalityNameRomaji\njpkiMunicipalityNameRomaji: Test\n' "$dn" |
		ldapmodify "${id[@]}" -e "assert=$a" ;;
	delete) ldapdelete "${id[@]}" -e "assert=$a" "$dn" ;;
	rename) ldapmodrdn "${id[@]}" -e "assert=$a" -r "$dn" cn=999998 ;;
	esac 2>&1 | grep -v -e '^modifying entry' -e '^$' | tr '\n' ' '
	echo "rc=${PIPESTATUS[0]}"
}
for a in '(certificateRevocationList=*)' '(!(certificateRevocationList;binary=*))'; do
	for op in modify delete rename; do
		t_eq "the signature verifier's $op under assert=$a: the same answer for a partition with a CRL as without" \
			"$(write_as signature $op "$spare" "$a")" "$(write_as signature $op "$P1" "$a")"
	done
done
t_eq "... which is the answer of an assertion on an attribute nobody holds" \
	"$(write_as signature modify "$P1" '(deltaRevocationList=*)')" "$(write_as signature modify "$P1" '(certificateRevocationList=*)')"
for who in root publisher; do
	t_match "the $who's modify under an assertion that a partition holding a CRL holds one: assertionFailed" \
		"Assertion Failed \(122\).*rc=122" "$(write_as "$who" modify "$P1" '(certificateRevocationList=*)')"
	t_eq "... the same answer on a partition without one" \
		"$(write_as "$who" modify "$spare" '(certificateRevocationList=*)')" \
		"$(write_as "$who" modify "$P1" '(certificateRevocationList=*)')"
done
t_match "the rootdn's modify under an assertion on another attribute still tests it: done" "rc=0" \
	"$(write_as root modify "$P1" '(cn=*)')"
instance_ldap "$DIR" ldapdelete "$spare"

# --- a suspension applies on a connection already bound ----------------------------------------
coproc HOLD { "$JPKI_BUILDDIR/tests/tools/ldap-hold" "$INSTANCE_URI" "uid=group,$VB" "$S/verifier-group.pw" "$P1" "certificateRevocationList;binary"; }
read -r -u "${HOLD[0]}" line
t_eq "held connection binds as the group verifier" "bind=0" "$line"
echo go >&"${HOLD[1]}"; read -r -u "${HOLD[0]}" line
t_eq "held connection reads the CRLs" "values=2" "$line"
repo_jpki_operator "$DIR" suspend group >/dev/null
echo go >&"${HOLD[1]}"; read -r -u "${HOLD[0]}" line
t_eq "after suspension, the same connection reads none" "values=0" "$line"
repo_jpki_operator "$DIR" resume group >/dev/null
echo go >&"${HOLD[1]}"; read -r -u "${HOLD[0]}" line
t_eq "after resumption, it reads them again" "values=2" "$line"
exec {HOLD[1]}>&-
wait "$HOLD_PID" 2>/dev/null

# --- SASL EXTERNAL ------------------------------------------------------------------------------
ext() { LDAPTLS_CACERT=$PKI/tls/ca.pem LDAPTLS_CERT=$PKI/verifiers/$1.pem LDAPTLS_KEY=$PKI/verifiers/$1.key "${@:2}"; }
t_match "EXTERNAL: a registered certificate maps to its verifier" "dn:uid=signature,ou=verifiers" \
	"$(ext signature ldapwhoami -Y EXTERNAL -H "$LDAPS" 2>&1)"
t_eq "EXTERNAL: the registered verifier reads the CRLs" 2 \
	"$(ext signature ldapsearch -Y EXTERNAL -H "$LDAPS" -LLL -b "$P1" -s base 'certificateRevocationList;binary' 2>/dev/null | grep -c '^certificateRevocationList')"
t_match "EXTERNAL: an unregistered certificate maps to no verifier" "dn:cn=unregistered verifier" \
	"$(ext unregistered ldapwhoami -Y EXTERNAL -H "$LDAPS" 2>&1)"
t_eq "EXTERNAL: the unregistered certificate reads no CRL" 0 \
	"$(ext unregistered ldapsearch -Y EXTERNAL -H "$LDAPS" -LLL -b "$P1" -s base 'certificateRevocationList;binary' 2>/dev/null | grep -c '^certificateRevocationList')"
t_match "EXTERNAL: the suspended verifier's certificate reads no CRL" "^0$" \
	"$(ext suspended ldapsearch -Y EXTERNAL -H "$LDAPS" -LLL -b "$P1" -s base 'certificateRevocationList;binary' 2>/dev/null | grep -c '^certificateRevocationList')"
t_match "StartTLS with a simple bind works" "dn:uid=signature" \
	"$(LDAPTLS_CACERT=$PKI/tls/ca.pem ldapwhoami -x -ZZ -H "$INSTANCE_URI" -D "uid=signature,$VB" -y "$S/verifier-signature.pw" 2>&1)"

# --- jpki verifier refusals -------------------------------------------------------------------
op() { repo_jpki_operator "$DIR" "$@" 2>&1; }
t_match "unknown id" "no verifier 'nosuch'" "$(op suspend nosuch)"
t_match "reversed dates" "reversed or empty" "$(op add --id r --type signature-verifier --org R --start 2027-01-01T00:00:00Z --end 2026-01-01T00:00:00Z --method ldap)"
t_match "bad date" "not YYYY-MM-DDTHH:MM:SSZ" "$(op add --id r --type signature-verifier --org R --start 2027-02-30T00:00:00Z --end 2028-01-01T00:00:00Z --method ldap)"
t_match "missing method" "--method is required" "$(op add --id r --type signature-verifier --org R --start 2026-01-01T00:00:00Z --end 2028-01-01T00:00:00Z)"
t_match "unknown method" "each method is ldap or ocsp" "$(op add --id r --type signature-verifier --org R --start 2026-01-01T00:00:00Z --end 2028-01-01T00:00:00Z --method http)"
t_match "certificate of another verifier: refused by the repository's rule" \
	"rule registry-unique: .*already registered to uid=signature," \
	"$(op add --id r --type signature-verifier --org R --start 2026-01-01T00:00:00Z --end 2028-01-01T00:00:00Z --method ldap --cert "$PKI/verifiers/signature.pem")"
t_match "a terminated verifier is not resumed" "not reopened" "$(op terminate ocsponly >/dev/null; op resume ocsponly)"
t_match "list shows who may read now" "signature .*active.*ldap yes" "$(op list)"
t_match "show names the reason" "access now: ldap no, ocsp no — agreement ended" "$(op show expired)"

# --- agreement boundaries to the second, slapd under a frozen clock --------------------------------
op add --id edge --type signature-verifier --org Edge --start 2031-01-01T00:00:00Z --end 2031-06-30T23:59:59Z \
	--method ldap --verifier-password-file <(printf 'edge-pw') >/dev/null
printf 'edge-pw' > "$S/verifier-edge.pw"
faked=()
for at in "2030-12-31 23:59:59:0" "2031-01-01 00:00:00:2" "2031-06-30 23:59:59:2" "2031-07-01 00:00:00:0"; do
	instance_stop "$DIR"
	INSTANCE_PRELOAD=$(jpki_faketime_lib libfaketimeMT.so.1) FAKETIME="${at%:*}" instance_start "$DIR" >/dev/null 2>&1
	faked+=("$(instance_pid "$DIR")")
	t_eq "agreement 2031-01-01T00:00:00Z..2031-06-30T23:59:59Z at ${at%:*}" "${at##*:}" "$(crl_values edge 'certificateRevocationList;binary')"
done
instance_stop "$DIR"
t_eq "the frozen-clock slapds left nothing in /dev/shm" "" "$(jpki_faketime_objects "${faked[@]}")"
instance_start "$DIR" >/dev/null

# --- generated filters and attribute lists ---------------------------------------------------------
# Each search is made twice: as written, and with certificateRevocationList replaced by
# deltaRevocationList (same syntax; no entry holds it). The answers must be identical and
# hold no CRL.
hex=$(head -c 4 "$T/g1/121002.crl" | od -An -tx1 | tr -d ' \n' | sed 's/../\\&/g')
attrs=("certificateRevocationList;binary" "certificateRevocationList" "*" "+" "* +" "cn certificateRevocationList;binary" "1.1")
filters=(
	"(certificateRevocationList;binary=*)" "(certificateRevocationList=*)" "(!(certificateRevocationList;binary=*))"
	"(certificateRevocationList;binary=$hex)" "(certificateRevocationList;binary>=$hex)" "(certificateRevocationList;binary<=$hex)"
	"(certificateRevocationList;binary~=$hex)" "(certificateRevocationList;binary=*$hex*)" "(certificateRevocationList;binary=$hex*)"
	"(certificateRevocationList;binary:caseExactMatch:=x)" "(certificateRevocationList;binary:octetStringMatch:=$hex)"
	"(|(certificateRevocationList;binary=*)(cn=none))" "(&(cn=121002)(certificateRevocationList;binary=*))"
	"(&(cn=121002)(!(certificateRevocationList;binary=*)))" "(!(|(cn=nope)(certificateRevocationList=*)))"
	"(|(!(certificateRevocationList;binary=$hex*))(cn=1))" "(&(objectClass=cRLDistributionPoint)(!(certificateRevocationList;binary>=$hex)))"
)
declare -i combos=0 leaks=0 diffs=0
first_diff=""
for who in anon suspended; do
	for f in "${filters[@]}"; do
		for a in "${attrs[@]}"; do
			for only in "" "-A"; do
				# shellcheck disable=SC2086
				got=$(as "$who" -LLL -o ldif-wrap=no -b "$CDP" -s sub $only "$f" $a 2>&1)
				df=${f//certificateRevocationList/deltaRevocationList}
				da=${a//certificateRevocationList/deltaRevocationList}
				# shellcheck disable=SC2086
				want=$(as "$who" -LLL -o ldif-wrap=no -b "$CDP" -s sub $only "$df" $da 2>&1)
				combos+=1
				grep -q -e '^certificateRevocationList' -e "${value:0:40}" <<<"$got" && leaks+=1
				if [ "$got" != "$want" ]; then
					diffs+=1
					[ -n "$first_diff" ] || first_diff="$who $only '$f' $a"
				fi
			done
		done
	done
done
# The control: for an allowed verifier the same comparison must see the CRLs.
ctl=$(as signature -LLL -o ldif-wrap=no -b "$CDP" -s sub "(!(certificateRevocationList;binary=*))" dn | grep -c '^dn:')
ctl_delta=$(as signature -LLL -o ldif-wrap=no -b "$CDP" -s sub "(!(deltaRevocationList;binary=*))" dn | grep -c '^dn:')
t_ok "control: for an allowed verifier the two searches differ ($ctl vs $ctl_delta entries)" test "$ctl" -ne "$ctl_delta"
t_ok "at least 200 combinations were tried ($combos)" test "$combos" -ge 200
t_eq "no combination returned a CRL byte" 0 "$leaks"
t_eq "no combination differed from the same search on an attribute nobody holds${first_diff:+ (first: $first_diff)}" 0 "$diffs"

# --- bind defaults from the environment demo/instance.env exports; the options win ---------------
J=$JPKI_BUILDDIR/tools/jpki
CA_ARGS=(--ca-dn "$REPO_CA_DN" --cert "$PKI/ca/gen1.pem" --cert "$PKI/ca/gen2.pem"
	--cert "$PKI/ca/link-new-with-old.pem" --cert "$PKI/ca/link-old-with-new.pem"
	--cross-pair "$PKI/bridge/crosspair-gen1.der" --cross-pair "$PKI/bridge/crosspair-gen2.der")
as_env() { # DN PASSWORD-FILE CMD…: CMD with JPKI_PUBLISHER_DN and JPKI_PUBLISHER_PASSWORD_FILE
	JPKI_PUBLISHER_DN=$1 JPKI_PUBLISHER_PASSWORD_FILE=$2 JPKI_LDAP_URI=$INSTANCE_URI "${@:3}" 2>&1
}
t_match "ca publish binds as \$JPKI_PUBLISHER_DN with \$JPKI_PUBLISHER_PASSWORD_FILE" "^accepted $REPO_CA_DN" \
	"$(as_env "$REPO_PUBLISHER_DN" "$S/publisher.pw" "$J" ca publish "${CA_ARGS[@]}")"
t_match "-D and -y win over the variables" "^accepted $REPO_CA_DN" \
	"$(as_env "$REPO_OPERATOR_DN" "$S/operator.pw" "$J" ca publish -D "$REPO_PUBLISHER_DN" -y "$S/publisher.pw" "${CA_ARGS[@]}")"
t_match "-y alone wins over \$JPKI_PUBLISHER_PASSWORD_FILE" "^accepted $REPO_CA_DN" \
	"$(as_env "$REPO_PUBLISHER_DN" "$S/operator.pw" "$J" ca publish -y "$S/publisher.pw" "${CA_ARGS[@]}")"
t_match "the variables' identity is the one used: as the operator, refused" "^refused .*Insufficient access" \
	"$(as_env "$REPO_OPERATOR_DN" "$S/operator.pw" "$J" ca publish "${CA_ARGS[@]}")"
t_match "-D alone: the publisher's password file is not sent for another DN" \
	"a password file is needed to bind as $REPO_OPERATOR_DN" \
	"$(as_env "$REPO_PUBLISHER_DN" "$S/publisher.pw" "$J" ca publish -D "$REPO_OPERATOR_DN" "${CA_ARGS[@]}")"
t_match "empty variables set no default: anonymous, refused" "^refused .*authentication required" \
	"$(as_env "" "" "$J" ca publish "${CA_ARGS[@]}")"
n=$(($(date +%s) + 100000))
repo_issue "$DIR" "$PKI" gen1 "$T/e1" --crl-number "$n" >/dev/null
repo_issue "$DIR" "$PKI" gen2 "$T/e2" --crl-number "$n" >/dev/null
t_match "crl publish binds as \$JPKI_PUBLISHER_DN with \$JPKI_PUBLISHER_PASSWORD_FILE" \
	"^accepted (cn|CN)=121002,.*1 entry accepted, 0 refused" \
	"$(as_env "$REPO_PUBLISHER_DN" "$S/publisher.pw" "$J" crl publish "$T/e1/121002.crl" "$T/e2/121002.crl" | tr '\n' ' ')"
# An empty JPKI_VERIFIER_BASE is ignored like the others: the default registry.
t_match "an empty JPKI_VERIFIER_BASE means the default registry" "^dn: uid=signature,ou=Verifiers,ou=Chiba-ken,o=JPKI,c=JP" \
	"$(JPKI_VERIFIER_BASE='' "$J" verifier show signature -H "$INSTANCE_URI" -D "$REPO_OPERATOR_DN" -y "$S/operator.pw" 2>&1)"

t_done
