package conntab

import "unsafe"

func sizeofEntry[V any]() uintptr { var e Entry[V]; return unsafe.Sizeof(e) - unsafe.Sizeof(e.Value) }
func sizeofValue[V any]() uintptr { var v V; return unsafe.Sizeof(v) }
