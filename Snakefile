# Snakefile - the recur workflow: prepare data, train, evaluate, predict, diagnose, plot and
# summarise every run of every experiment declared in the configuration, then write an HTML
# report. Rules are in pipelines/*.smk; see README.md ("Workflow") and pipelines/config/.
#
#   snakemake --cores 2                                          # the demo configuration
#   snakemake --cores 2 --configfile pipelines/config/quick.yaml # another configuration
#   snakemake --profile pipelines/profiles/slurm --configfile ...  # on a SLURM cluster

# The demo is the default; a --configfile on the command line replaces it (instead of being
# merged into it, which would add the demo's experiments to every study).
if not workflow.overwrite_configfiles:

    configfile: "pipelines/config/demo.yaml"


include: "pipelines/common.smk"
include: "pipelines/data.smk"
include: "pipelines/train.smk"
include: "pipelines/evaluate.smk"
include: "pipelines/plots.smk"
include: "pipelines/summary.smk"
include: "pipelines/experiments.smk"


rule all:
    input:
        all_targets(),
    default_target: True
