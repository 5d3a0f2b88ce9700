"""policy_gradient"""
