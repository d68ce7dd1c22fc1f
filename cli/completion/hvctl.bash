# hvctl.bash -- bash completion for hvctl: subcommands, their options, and VM
# names (from `hvctl list --names`, with the --rundir/--socket already typed).

_hvctl_vms()
{
    local i conn=()
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        case ${COMP_WORDS[i]} in
        --rundir|--socket) conn+=("${COMP_WORDS[i]}" "${COMP_WORDS[i+1]}") ;;
        esac
    done
    hvctl "${conn[@]}" --timeout 2 list --names 2>/dev/null
}

_hvctl()
{
    local cur prev cmd i
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    local cmds="list walk maps stack regs x trace faults top gdb"
    local global="--json --color=auto --color=always --color=never --rundir --socket --timeout --help"
    local live="--vm --vcpu --rundir --socket --json --help"

    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        --rundir|--socket|--timeout) ((i++)) ;;
        -*) ;;
        *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done

    case $prev in
    --vm) COMPREPLY=($(compgen -W "$(_hvctl_vms)" -- "$cur")); return ;;
    --rundir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --socket|--core|--symbols) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --access) COMPREPLY=($(compgen -W "r w x" -- "$cur")); return ;;
    --vcpu|--cr3|--efer|--maxphyaddr|--timeout|--max-frames|--raw) return ;;
    --vectors) COMPREPLY=($(compgen -W "pf gp ud de df pf,gp pf,ud pf,gp,ud" -- "$cur")); return ;;
    --class) COMPREPLY=($(compgen -W "guest guest.not_present guest.protection guest.protection.write guest.protection.user guest.protection.nx guest.reserved_bit guest.spurious stage2 stage2.mmio stage2.fault_in exception exception.gp exception.ud exception.pf" -- "$cur")); return ;;
    --depth|--sample|--limit|--interval) return ;;
    esac

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
        fi
        return
    fi
    if [[ $cmd == trace && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "on off" -- "$cur"))
        return
    fi
    [[ $cur == -* ]] || return
    local tele="--vm --rundir --socket --json --help"
    case $cmd in
    list)  COMPREPLY=($(compgen -W "--names --json --rundir --socket --help" -- "$cur")) ;;
    walk)  COMPREPLY=($(compgen -W "$live --access --user --cr3 --core --efer --maxphyaddr" -- "$cur")) ;;
    maps)  COMPREPLY=($(compgen -W "$live --cr3 --core --efer --maxphyaddr" -- "$cur")) ;;
    stack) COMPREPLY=($(compgen -W "$live --max-frames --raw --symbols" -- "$cur")) ;;
    regs)  COMPREPLY=($(compgen -W "$live" -- "$cur")) ;;
    x)     COMPREPLY=($(compgen -W "$live --phys" -- "$cur")) ;;
    trace) COMPREPLY=($(compgen -W "$tele --vectors --stage2 --depth --sample" -- "$cur")) ;;
    faults) COMPREPLY=($(compgen -W "$tele --follow --class --limit --symbols" -- "$cur")) ;;
    top)   COMPREPLY=($(compgen -W "$tele --once --interval --symbols" -- "$cur")) ;;
    gdb)   COMPREPLY=($(compgen -W "$tele" -- "$cur")) ;;
    esac
}
complete -F _hvctl hvctl
