"""AION's AWS CDK app: stacks, the table definitions generated from the models, cdk-nag rules."""
