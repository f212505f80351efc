"""songreel.export"""
