"""songreel.plan"""
