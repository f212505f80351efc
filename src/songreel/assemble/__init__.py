"""songreel.assemble"""
