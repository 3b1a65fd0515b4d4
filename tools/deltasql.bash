# bash completion for deltasql, installed by "make install". The command
# and option names come from the program's own help table
# ("deltasql help --commands", "deltasql help --options CMD").
_deltasql()
{
	local cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-c | --catalog | --driver) ((i++)) ;;
		-*) ;;
		*)
			cmd=${COMP_WORDS[i]}
			break
			;;
		esac
	done
	case $prev in
	-c | --catalog) return 0 ;;
	--driver)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$("${COMP_WORDS[0]}" help --options "${cmd:-deltasql}" 2>/dev/null)" -- "$cur")
	elif [[ -z $cmd || $cmd == help ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$("${COMP_WORDS[0]}" help --commands 2>/dev/null)" -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
	return 0
}
complete -F _deltasql deltasql
