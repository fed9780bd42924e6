"""`fargate-api cost`: a monthly estimate of what the templates create, with cheaper variants.

The estimate reads the templates (synthesized from the config, or a folder with -t), never
the config: the templates are the contract, so the estimate prices what would be deployed.
"""
