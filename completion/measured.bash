# bash completion for measured's programs: attest, attestd, pcrpredict, cmld, control.
# Installed once per program name under share/bash-completion/completions/.

_measured_words() { # the words to offer for the current position
	COMPREPLY=($(compgen -W "$1" -- "${COMP_WORDS[COMP_CWORD]}"))
}

_measured_file_arg() { # after an option that takes a file: complete files
	case $1 in
	--ak | --reference | --runtime-policy | --ear-key | --key | --out | --state | --ek-ca | \
		--tls-ca | --tls-cert | --tls-key | --manifest | --values | --config | --root | \
		--memdisk | --policy | --guestos | --container | --tboot | --module | --platform | \
		--preamble | --firmware-log | --ima-log | --cel-log | --socket | --data-dir | --run-dir | \
		--trust-anchors | --seal-profile | --seal-reference | --policy-signer | \
		--signed-policies | --cel | --pin-file | --vars | --shim | --grub | --kernel | --out-cbor | --rootfs | --tls-client-ca)
		COMPREPLY=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}"))
		return 0
		;;
	esac
	return 1
}

_attest() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} cmd= w
	_measured_file_arg "$prev" && return
	for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
		case $w in log | enroll | quote | export | verify | check | ear | serve | fleet) cmd=$w && break ;; esac
	done
	case $cmd in
	'') _measured_words "log enroll quote export verify check ear serve fleet --tcti --state --ek-ca --tls-ca --tls-cert --tls-key --json -v --help --version" ;;
	log) _measured_words "--format --json --banks --ima-list --sha1-padded --help" ;;
	enroll) _measured_words "--trust-on-first-use --help" ;;
	quote) _measured_words "--pcrs --full --out --help" ;;
	verify) _measured_words "--ak --reference --runtime-policy --pcrs --nonce --strict --ear-key --help" ;;
	check) _measured_words "--ak --reference --runtime-policy --pcrs --strict --full --ear-key --help" ;;
	ear) _measured_words "verify --key --help" ;;
	serve) _measured_words "-n --db --listen --tokens --tls-cert --tls-key --interval --jitter --timeout-ms --pollers --keep-results --webhook --webhook-secret --ear-key --instance --help" ;;
	fleet) _measured_words "devices add remove show history ear policy policies set-policy watch --url --token-file --cacert --policy --interval --trust-on-first-use --reference --runtime-policy --pcrs --strict --after --help" ;;
	esac
	[ -n "$COMPREPLY" ] || [[ $cur == -* ]] || COMPREPLY=($(compgen -f -- "$cur"))
}

_pcrpredict() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} cmd=
	_measured_file_arg "$prev" && return
	[ "$COMP_CWORD" -ge 2 ] && cmd=${COMP_WORDS[1]}
	case $cmd in
	'') _measured_words "rootfs secureboot diff gpt pe policy sign cml tboot grub build ima --help --version" ;;
	pe | gpt) _measured_words "--banks --json --help" ;;
	secureboot) _measured_words "--vars --shim --grub --kernel --pcrlock --banks --json --help" ;;
	rootfs) _measured_words "--mode --salt --pcr --banks --json --help" ;;
	policy) _measured_words "--pcrs --values --pin --banks --json --help" ;;
	sign) _measured_words "--key --pcrs --values --out --help" ;;
	cml) _measured_words "--guestos --container --values --banks --json --help" ;;
	tboot) _measured_words "--tboot --tboot-cmdline --module --cmdline --policy --platform --extpol --banks --json --help" ;;
	grub) _measured_words "--config --root --memdisk --set --preloaded --preamble --config-name --banks --json --help" ;;
	build) _measured_words "--manifest --out --out-cbor --help" ;;
	ima) _measured_words "--rootfs --policy --output --ima-hash --boot-aggregate --values --banks --json --help" ;;
	esac
	[ -n "$COMPREPLY" ] || [[ $cur == -* ]] || COMPREPLY=($(compgen -f -- "$cur"))
}

_control() {
	local prev=${COMP_WORDS[COMP_CWORD - 1]}
	_measured_file_arg "$prev" && return
	_measured_words "list list_guestos state config ifaces create update_config reload remove wipe wipe_device start stop freeze unfreeze change_pin run assign_iface unassign_iface allow_audio deny_audio ca_register push_guestos_config remove_guestos pull_csr push_cert set_provisioned get_provisioned reboot device_stats --socket --json --pin-file --help --version"
}

_attestd() {
	_measured_file_arg "${COMP_WORDS[COMP_CWORD - 1]}" && return
	_measured_words "-n --config --tcti --provision --listen --socket --user --engine-user --batch-ms --batch-max --read-timeout-ms --write-timeout-ms --tpm-timeout-ms --max-conns --max-conns-per-peer --keys-per-minute --firmware-log --ima-log --cel-log --tls-cert --tls-key --tls-client-ca --help --version"
}

_cmld() {
	_measured_file_arg "${COMP_WORDS[COMP_CWORD - 1]}" && return
	_measured_words "-n --config --data-dir --socket --run-dir --trust-anchors --stop-timeout-ms --allow-reboot -v --verbose --control-user --container-caps --container-seccomp --container-pids-max --container-memory-max --container-cpu-max --tpm --seal-profile --seal-reference --policy-signer --signed-policies --cel --luks-pbkdf2-iterations --help --version"
}

complete -F _attest attest
complete -F _pcrpredict pcrpredict
complete -F _control control
complete -F _attestd attestd
complete -F _cmld cmld
