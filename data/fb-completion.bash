# bash completion for the fb tools.  Installed as
# $(PREFIX)/share/bash-completion/completions/fb; source it by hand otherwise:
#   . data/fb-completion.bash
# Options are read from each tool's own --help, so they never fall out of date.

_fb_options() {
    "$1" --help 2>/dev/null | grep -oE -- '(^|[ ,[])--?[A-Za-z][A-Za-z0-9-]*' |
        sed 's/^[ ,[]*//' | sort -u
}

_fb_complete() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    COMPREPLY=()
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_fb_options "$1")" -- "$cur")
    fi
    # Anything else: bash's own file-name completion (complete -o default).
}

complete -o default -F _fb_complete \
    fb-split fb-audit fb-prep fb-feat fb-train fb-eval fb-predict fb-plot fb-report fb-info fb-weights fb-export
