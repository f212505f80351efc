"""songreel.cli"""
